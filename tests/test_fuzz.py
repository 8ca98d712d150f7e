"""A fixed-seed fuzz of the file readers: every mutated file is solved correctly or refused in one line."""

from fuzzing import fuzz


def test_mutated_files_are_solved_or_refused_never_a_traceback(tmp_path, warm_kernels):
    found = fuzz(tmp_path, count=400, seed=0)
    assert not found.get("BUG"), "\n".join(found["BUG"][:5])
    assert len(found.get("refused", [])) > 200 and len(found.get("solved", [])) > 30  # both kinds were reached
