"""The policy state machine: every (state, action) pair is either performed or refused with 409."""

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection

from insurance.core.exceptions import ConflictError, TransitionNotAllowed
from policies import lifecycle, services
from policies.choices import InstalmentStatus, PolicyStatus
from policies.models import Policy
from tests.policies.conftest import EFFECTIVE
from tests.policies.factories import pay, policy_in_state, quote, term_end

DAY = timedelta(days=1)

CALLS = {
    "approve_referral": lambda actor, p: services.referral_approve(
        actor=actor, policy=p, reason="risk acceptable", today=EFFECTIVE
    ),
    "decline_referral": lambda actor, p: services.referral_decline(actor=actor, policy=p, reason="too risky"),
    "expire_quote": lambda actor, p: services.quote_expire(actor=actor, policy=p, today=p.quote_expires_on + DAY),
    "bind": lambda actor, p: services.policy_bind(actor=actor, policy=p, today=EFFECTIVE),
    "endorse": lambda actor, p: services.policy_endorse(
        actor=actor,
        policy=p,
        kind="deductible",
        effective_date=EFFECTIVE + 10 * DAY,
        changes={"coverage": "liability", "deductible": "100"},
    ),
    "renew": lambda actor, p: services.policy_offer_renewal(actor=actor, policy=p, today=EFFECTIVE + 340 * DAY),
    "cancel": lambda actor, p: services.policy_cancel(
        actor=actor, policy=p, reason="sold the car", effective_date=EFFECTIVE + 10 * DAY, today=EFFECTIVE + 10 * DAY
    ),
    "lapse": lambda actor, p: services.policy_lapse(actor=actor, policy=p, today=EFFECTIVE + 31 * DAY),
    "expire": lambda actor, p: services.policy_expire(actor=actor, policy=p, today=term_end(EFFECTIVE)),
    "reinstate": lambda actor, p: services.policy_reinstate(
        actor=actor, policy=p, reason="paid up", today=EFFECTIVE + 50 * DAY
    ),
}


def test_every_public_action_has_a_call():
    assert set(CALLS) == set(lifecycle.PUBLIC_ACTIONS)


@pytest.mark.django_db
@pytest.mark.parametrize("state", PolicyStatus.values)
@pytest.mark.parametrize("action", lifecycle.PUBLIC_ACTIONS)
def test_each_state_and_action_is_performed_or_refused_with_409(state, action, book, product):
    policy = policy_in_state(state, holder=book.alice, product=product, effective_date=EFFECTIVE)
    sources, target = lifecycle.TRANSITIONS[action]
    events_before = policy.events.count()
    if state in sources:
        CALLS[action](book.underwriter, policy)
        policy.refresh_from_db()
        assert policy.status == target
        assert policy.events.count() > events_before, "every transition writes a timeline event"
        changed = Policy.objects.get(renewal_of=policy) if action == "renew" else policy
        assert changed.history.latest().history_user == book.underwriter
        if action == "renew":
            assert changed.status == PolicyStatus.QUOTE
    else:
        with pytest.raises(TransitionNotAllowed) as refusal:
            CALLS[action](book.underwriter, policy)
        assert refusal.value.status_code == 409
        assert refusal.value.allowed == sorted(lifecycle.allowed_actions(state))
        policy.refresh_from_db()
        assert policy.status == state
        assert policy.events.count() == events_before


@pytest.mark.django_db
def test_a_bound_renewal_takes_over_when_the_term_ends(book, product):
    policy = services.policy_bind(
        actor=book.alice, policy=quote(actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE)
    )
    renewal = services.policy_offer_renewal(actor=book.alice, policy=policy, today=EFFECTIVE + 340 * DAY)
    assert renewal.effective_date == policy.expiry_date
    with pytest.raises(ConflictError, match="already been offered"):
        services.policy_offer_renewal(actor=book.alice, policy=policy, today=EFFECTIVE + 341 * DAY)
    services.policy_bind(actor=book.alice, policy=renewal, today=EFFECTIVE + 345 * DAY)
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.IN_FORCE, "the current term runs (and is payable) to its end"
    services.policy_expire(actor=book.underwriter, policy=policy, today=policy.expiry_date)
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.RENEWED


@pytest.mark.django_db
def test_a_renewal_may_be_offered_again_after_the_first_offer_expired(book, product):
    policy = services.policy_bind(
        actor=book.alice, policy=quote(actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE)
    )
    first = services.policy_offer_renewal(actor=book.alice, policy=policy, today=EFFECTIVE + 300 * DAY)
    services.quote_expire(actor=book.underwriter, policy=first, today=EFFECTIVE + 340 * DAY)
    second = services.policy_offer_renewal(actor=book.alice, policy=policy, today=EFFECTIVE + 340 * DAY)
    assert second.pk != first.pk
    assert set(policy.renewals.values_list("pk", flat=True)) == {first.pk, second.pk}


@pytest.mark.django_db
def test_a_quote_cannot_be_bound_after_its_start_date(book, product):
    policy = quote(actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE)
    with pytest.raises(ConflictError) as refusal:
        services.policy_bind(actor=book.alice, policy=policy, today=EFFECTIVE + DAY)
    assert refusal.value.code == "effective_date_passed"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "kwargs", "code"),
    [
        ("bind", {"today": EFFECTIVE + 31 * DAY}, "quote_expired"),
        ("expire_quote", {"today": EFFECTIVE}, "quote_still_valid"),
    ],
)
def test_quote_preconditions(action, kwargs, code, book, product):
    policy = quote(actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE)
    service = {"bind": services.policy_bind, "expire_quote": services.quote_expire}[action]
    with pytest.raises(ConflictError) as refusal:
        service(actor=book.alice, policy=policy, **kwargs)
    assert refusal.value.code == code


@pytest.mark.django_db
def test_reinstatement_needs_the_window_and_no_arrears(book, product):
    policy = services.policy_bind(
        actor=book.alice,
        policy=quote(
            actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE, instalment_count=12
        ),
    )
    services.policy_lapse(actor=book.underwriter, policy=policy, today=EFFECTIVE + 31 * DAY)
    with pytest.raises(ConflictError, match=r"Pay the overdue instalments first: #1, #2") as refusal:
        services.policy_reinstate(actor=book.underwriter, policy=policy, reason="asked", today=EFFECTIVE + 40 * DAY)
    assert refusal.value.code == "arrears"
    for sequence in (1, 2):
        pay(policy, sequence, actor=book.underwriter)
    with pytest.raises(ConflictError, match="window"):
        services.policy_reinstate(actor=book.underwriter, policy=policy, reason="late", today=EFFECTIVE + 200 * DAY)
    services.policy_reinstate(actor=book.underwriter, policy=policy, reason="paid", today=EFFECTIVE + 40 * DAY)
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.IN_FORCE
    assert policy.lapsed_on is None


@pytest.mark.django_db
def test_reinstating_a_cancellation_restores_the_voided_instalments(book, product):
    policy = services.policy_bind(
        actor=book.alice,
        policy=quote(
            actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE, instalment_count=4
        ),
    )
    services.policy_cancel(
        actor=book.alice,
        policy=policy,
        reason="moving abroad",
        effective_date=EFFECTIVE + 100 * DAY,
        today=EFFECTIVE + 100 * DAY,
    )
    assert policy.instalments.filter(status=InstalmentStatus.VOID).count() == 4
    assert policy.instalments.get(sequence=5).note == "Balance of earned premium on cancellation"
    services.policy_reinstate(
        actor=book.underwriter, policy=policy, reason="plans changed", today=EFFECTIVE + 110 * DAY
    )
    policy.refresh_from_db()
    assert list(policy.instalments.filter(status=InstalmentStatus.VOID).values_list("sequence", flat=True)) == [5]
    assert policy.instalments.get(sequence=1).due_date == EFFECTIVE + 110 * DAY  # overdue: due again, with grace
    assert policy.refund_amount is None


def _race(*calls) -> list:
    """Run the calls at the same moment in threads (own connections); returns each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:
            results[index] = error
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_of_two_concurrent_transitions_exactly_one_wins(book, product):
    policy = services.policy_bind(
        actor=book.alice, policy=quote(actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE)
    )
    results = _race(
        lambda: services.policy_cancel(
            actor=book.alice,
            policy=policy,
            reason="race",
            effective_date=EFFECTIVE + 10 * DAY,
            today=EFFECTIVE + 10 * DAY,
        ),
        lambda: services.policy_lapse(actor=book.underwriter, policy=policy, today=EFFECTIVE + 31 * DAY),
    )
    winners = [result for result in results if isinstance(result, Policy)]
    losers = [result for result in results if isinstance(result, TransitionNotAllowed)]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    policy.refresh_from_db()
    assert policy.status == winners[0].status


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_quote_bound_twice_at_once_is_issued_once(book, product):
    policy = quote(actor=book.alice, holder=book.alice, product=product, effective_date=EFFECTIVE, instalment_count=4)
    results = _race(
        lambda: services.policy_bind(actor=book.alice, policy=policy, today=EFFECTIVE),
        lambda: services.policy_bind(actor=book.alice_agent, policy=policy, today=EFFECTIVE),
    )
    assert sum(isinstance(result, Policy) for result in results) == 1, results
    assert sum(isinstance(result, TransitionNotAllowed) for result in results) == 1, results
    assert policy.instalments.count() == 4
