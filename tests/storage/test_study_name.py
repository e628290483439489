"""A fitted search names the study it wrote and its storage, passwords masked."""

from __future__ import annotations

import sqlalchemy as sa
from sklearn.datasets import load_iris
from sklearn.svm import SVC

from hpsearch import GridSearchCV
from hpsearch.storage import SQLStorage

X, y = load_iris(return_X_y=True)


def test_the_storage_password_is_masked(postgres_url, postgres_prefix):
    # The test server trusts local connections: any password is accepted.
    url = sa.make_url(postgres_url).set(password="s3cret-pw")
    storage = SQLStorage(url.render_as_string(hide_password=False), postgres_prefix)
    search = GridSearchCV(
        SVC(), {"C": [1]}, cv=2, progress=False, storage=storage, study="svc"
    ).fit(X, y)
    storage.close()
    assert search.study_name_ == "svc"
    assert "s3cret-pw" not in search.storage_url_
    assert search.storage_url_ == url.render_as_string(hide_password=True)
    assert ":***@" in search.storage_url_
