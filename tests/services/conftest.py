import pytest

from mda.vocabulary import Role
from tests.support import factories


@pytest.fixture
def coordinator(session):
    return factories.user(session, Role.COORDINATOR, ["UTR"])


@pytest.fixture
def act(coordinator):
    return factories.actor(coordinator)


@pytest.fixture
def keys():
    return factories.pseudonym_keys()
