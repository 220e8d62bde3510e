from datetime import date

import pytest

from tests.policies.factories import make_test_product, set_holder

EFFECTIVE = date(2030, 1, 1)


@pytest.fixture
def product(db):
    return make_test_product()


@pytest.fixture
def book(personas, product):
    """Alice (born 1980, Ohio) and Bob (born 1985, Illinois) with the test product."""
    set_holder(personas.alice, born=date(1980, 5, 17), region="OH")
    set_holder(personas.bob, born=date(1985, 2, 1), region="IL")
    return personas
