"""``parallel.scheduler``: Dask ships pickled tasks and results, so an unauthenticated
transport (tcp://, ws://, ucx://) is accepted on a loopback host only, unless
``parallel.allow_insecure_remote`` says the network is trusted; tls:// and wss:// go anywhere."""

from __future__ import annotations

import pytest

from gdlab.config import validate_params
from gdlab.parallel import parallel_backend
from tests.config.helpers import assert_problem, config_error

REMOTE_PLAIN = ["tcp://10.0.0.5:8786", "tcp://dask.example:8786", "ws://[2001:db8::1]:8786",
                "ucx://192.168.1.20:8786", "tcp://0.0.0.0:8786"]
ACCEPTED = ["tcp://127.0.0.1:8786", "tcp://localhost:8786", "ws://[::1]:8786",
            "tls://10.0.0.5:8786", "wss://dask.example:8786"]


@pytest.mark.parametrize("address", REMOTE_PLAIN)
def test_unauthenticated_scheduler_on_another_host_is_refused(address):
    err = config_error({"parallel.backend": "dask", "parallel.scheduler": address})
    assert_problem(err, "parallel.scheduler", "neither authenticated nor encrypted")
    assert_problem(err, "parallel.scheduler", "parallel.allow_insecure_remote: true")
    assert_problem(err, "parallel.scheduler", "tls://host:port")


@pytest.mark.parametrize("address", REMOTE_PLAIN)
def test_an_explicit_opt_in_accepts_it(address):
    parallel = {"backend": "dask", "scheduler": address, "allow_insecure_remote": True}
    assert validate_params({"parallel": parallel}).parallel.scheduler == address


@pytest.mark.parametrize("address", ACCEPTED)
def test_loopback_or_tls_schedulers_are_accepted(address):
    parallel = {"backend": "dask", "scheduler": address}
    assert validate_params({"parallel": parallel}).parallel.scheduler == address


def test_a_dict_config_is_refused_before_connecting():
    config = {"backend": "dask", "scheduler": "tcp://10.0.0.5:8786", "timeout": 1.0}
    with pytest.raises(ValueError, match="parallel.scheduler: .*allow_insecure_remote"):
        with parallel_backend(config):
            pass


def test_the_field_documents_the_trust_boundary():
    from gdlab.config.docs import iter_fields

    docs = {f.path: f.description for f in iter_fields()}
    assert "pickled" in docs["parallel.scheduler"] and "tls://" in docs["parallel.scheduler"]
    assert "parallel.allow_insecure_remote" in docs
