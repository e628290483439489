"""The public API is what __init__ exports, sorted, and nothing private."""

import hpsearch


def test_all_is_sorted_and_complete():
    assert hpsearch.__all__ == sorted(hpsearch.__all__)
    public = {name for name in dir(hpsearch) if not name.startswith("_")}
    modules = {"executors", "storage", "strategies", "cli", "plot", "dashboard"}
    assert public - modules <= set(hpsearch.__all__) | {"annotations"}
    for name in hpsearch.__all__:
        assert getattr(hpsearch, name) is not None


def test_errors_derive_from_the_builtins_users_catch():
    assert issubclass(hpsearch.SpaceError, ValueError)
    assert issubclass(hpsearch.SpaceError, TypeError)
    assert issubclass(hpsearch.StudyMismatchError, ValueError)
    assert issubclass(hpsearch.StorageError, RuntimeError)
    for name in hpsearch.__all__:
        obj = getattr(hpsearch, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, hpsearch.HpsearchError)
