"""Publishing a campaign: accept the request, charge the payer once, record the outcome.

docs/publishing.md draws the states and the order of writes; read it before changing this file.
Every function here is safe to run twice for the same request: that is how a redelivered
message, a duplicate HTTP call and the sweep are all made harmless.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError

from campaign_billing import metrics
from campaign_billing.adapters.stripe_gateway import (
    ChargeOutcome,
    ChargeRequest,
    ChargeResult,
    StripeGateway,
    StripeRejected,
    TransientStripeError,
)
from campaign_billing.adapters.unit_of_work import UnitOfWork
from campaign_billing.domain.errors import (
    AuthenticationRequired,
    BillingFailure,
    CampaignNotFound,
    CardDeclined,
    PaymentProviderRejected,
    PaymentProviderUnavailable,
)
from campaign_billing.domain.model import BillingAccount, Campaign, PaymentMethod
from campaign_billing.domain.publishing import (
    Charge,
    ChargeStatus,
    PublishRequest,
    PublishStatus,
    charge_idempotency_key,
)
from campaign_billing.domain.resolution import resolve_payer
from campaign_billing.events.envelope import Event, EventType
from campaign_billing.ids import new_id
from campaign_billing.services.payer_context import load_payer_context, owner_name

log = structlog.get_logger(__name__)

UowFactory = Callable[[], UnitOfWork]
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class RequestKeyReused(Exception):
    """Raised when an Idempotency-Key (or broker `request_key`) already names a publish request
    for another campaign: the caller reused a key, and guessing which campaign it meant is how
    the wrong campaign gets charged."""

    code = "idempotency_key_reused"

    def __init__(self, request_key: str, campaign_id: str) -> None:
        super().__init__(
            f"Idempotency-Key {request_key!r} was already used to publish campaign "
            f"{campaign_id}; use a new key for another campaign."
        )


class ChargeUnreconciled(Exception):
    """Raised when publishing again while an earlier charge of the campaign has an unknown
    outcome: until it is reconciled with Stripe, a new charge could be a double charge."""

    code = "charge_unreconciled"

    def __init__(self, campaign_id: str, publish_request_id: str) -> None:
        super().__init__(
            f"Campaign {campaign_id} has a charge (publish request {publish_request_id}) whose "
            "outcome Stripe has not confirmed yet; it is checked automatically within minutes. "
            "Publish again after that."
        )


@dataclass(frozen=True, slots=True)
class Accepted:
    request: PublishRequest
    created: bool


# -- accepting ---------------------------------------------------------------------------------


def accept_publish(
    uow_factory: UowFactory,
    send_publish: Callable[[str], None],
    *,
    workspace_id: str,
    campaign_id: str,
    request_key: str | None,
    record_unknown_campaign: bool = False,
    now: Clock = utcnow,
) -> Accepted:
    """Records a publish request (or finds the one this call repeats) and sends its task after
    the commit. Raises `CampaignNotFound`, `RequestKeyReused` or `ChargeUnreconciled`.

    `record_unknown_campaign` is for the broker entry point, which has no HTTP answer to carry
    campaign_not_found: it records a failed request (with its event) instead of raising.
    """
    # A concurrent duplicate loses on a unique index; the retry then finds the winner's row.
    for _ in range(3):
        try:
            return _accept_once(
                uow_factory,
                send_publish,
                workspace_id,
                campaign_id,
                request_key,
                record_unknown_campaign,
                now(),
            )
        except IntegrityError:
            log.info("publish_accept_raced", campaign_id=campaign_id)
    raise RuntimeError(f"could not record a publish request for campaign {campaign_id}")


def _accept_once(
    uow_factory: UowFactory,
    send_publish: Callable[[str], None],
    workspace_id: str,
    campaign_id: str,
    request_key: str | None,
    record_unknown_campaign: bool,
    at: datetime,
) -> Accepted:
    with uow_factory() as uow:
        if request_key:
            existing = uow.publishing.by_key(workspace_id, request_key)
            if existing is not None:
                if existing.campaign_id != campaign_id:
                    raise RequestKeyReused(request_key, existing.campaign_id)
                return Accepted(existing, created=False)

        campaign = uow.directory.get_campaign(workspace_id, campaign_id)
        if campaign is None and not record_unknown_campaign:
            raise CampaignNotFound(campaign_id)
        if campaign is not None:
            earlier = _earlier_answer(uow, campaign)
            if earlier is not None:
                return Accepted(earlier, created=False)

        request_id = new_id("pr")
        request = PublishRequest(
            id=request_id,
            workspace_id=workspace_id,
            campaign_id=campaign_id,
            request_key=request_key or request_id,
            status=PublishStatus.QUEUED,
            failure=None,
            created_at=at,
            updated_at=at,
        )
        uow.publishing.add(request)
        uow.outbox.add(_event(EventType.PUBLISH_REQUESTED, request, {}))
        if campaign is None:
            request = _fail_unknown_campaign(uow, request)
        else:
            uow.after_commit(lambda: send_publish(request_id))
        uow.commit()
        log.info(
            "publish_request_accepted",
            publish_request_id=request_id,
            campaign_id=campaign_id,
            workspace_id=workspace_id,
        )
        return Accepted(request, created=True)


def _earlier_answer(uow: UnitOfWork, campaign: Campaign) -> PublishRequest | None:
    """The request a new publish must be answered with instead of charging: the one that
    published the campaign, or the one still open. Raises while a charge is unreconciled."""
    if campaign.published:
        published_by = uow.directory.campaign_published_by(campaign.id)
        if published_by is not None:
            return uow.publishing.get(published_by)
    open_request = uow.publishing.open_for_campaign(campaign.id)
    if open_request is not None:
        return open_request
    live = uow.publishing.live_charge_for_campaign(campaign.id)
    if live is None:
        return None
    if live.status is ChargeStatus.UNKNOWN:
        raise ChargeUnreconciled(campaign.id, live.publish_request_id)
    return uow.publishing.get(live.publish_request_id)


def _fail_unknown_campaign(uow: UnitOfWork, request: PublishRequest) -> PublishRequest:
    failure = CampaignNotFound(request.campaign_id).to_dict()
    uow.publishing.transition(
        request.id, from_=[PublishStatus.QUEUED], to=PublishStatus.FAILED, failure=failure
    )
    uow.outbox.add(_event(EventType.PUBLISH_FAILED, request, {"failure": failure}))
    _count_outcome(uow, PublishStatus.FAILED, failure)
    return replace(request, status=PublishStatus.FAILED, failure=failure)


def get_publish_request(
    uow_factory: UowFactory, workspace_id: str, request_id: str
) -> PublishRequest | None:
    with uow_factory() as uow:
        request = uow.publishing.get(request_id)
    if request is None or request.workspace_id != workspace_id:
        return None
    return request


def publish_request_view(request: PublishRequest) -> dict[str, Any]:
    """The JSON of `GET /v1/publish-requests/{id}` (API.md)."""
    charge = request.charge
    return {
        "id": request.id,
        "campaign_id": request.campaign_id,
        "status": request.status.value,
        "failure": request.failure,
        "charge": (
            {
                "amount": charge.price.amount,
                "currency": charge.price.currency,
                "billing_account_id": charge.billing_account_id,
                "stripe_payment_intent_id": charge.stripe_payment_intent_id,
                "status": charge.status.value,
            }
            if charge is not None and charge.status is not ChargeStatus.FAILED
            else None
        ),
        "created_at": request.created_at.isoformat(),
        "updated_at": request.updated_at.isoformat(),
    }


# -- processing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    """What the Stripe call and the failure messages need about the charge being made."""

    request: PublishRequest
    campaign: Campaign
    charge: Charge
    account: BillingAccount
    payment_method: PaymentMethod
    owner_name: str
    # Earlier requests of the campaign whose payment link may still be paid: closed first.
    open_payment_links: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PublishSettings:
    success_url: str
    cancel_url: str
    # A charge left `unknown` is reconciled after this long (Stripe's list is consistent at
    # once, but a request in flight when a worker died may still be running there).
    reconcile_after: timedelta = timedelta(seconds=30)


def process_publish_request(
    uow_factory: UowFactory,
    gateway: StripeGateway,
    config: PublishSettings,
    request_id: str,
    *,
    now: Clock = utcnow,
) -> PublishStatus | None:
    """Runs one publish request to a terminal state. Safe to call any number of times, from
    any number of workers: returns the status it left the request in (None: no such request)."""
    with structlog.contextvars.bound_contextvars(publish_request_id=request_id):
        target = _claim(uow_factory, request_id, now)
        if not isinstance(target, _Target):
            return target
        with structlog.contextvars.bound_contextvars(
            campaign_id=target.campaign.id,
            billing_account_id=target.account.id,
            idempotency_key=target.charge.idempotency_key,
        ):
            return _charge_and_record(uow_factory, gateway, config, target, now)


def charge_request(target: _Target) -> ChargeRequest:
    """The PaymentIntent parameters of a charge attempt: derived only from stored rows, so every
    retry and every resumption sends Stripe the very same request under the same key."""
    return ChargeRequest(
        customer_id=target.account.stripe_customer_id or "",
        payment_method_id=target.payment_method.stripe_payment_method_id,
        price=target.charge.price,
        idempotency_key=target.charge.idempotency_key,
        metadata=_charge_metadata(target),
        description=f"Campaign {target.campaign.id}",
    )


def _charge_metadata(target: _Target) -> dict[str, str]:
    """What Stripe keeps with a charge or a payment link, so either can be found (and read in
    Stripe's dashboard) by its campaign, publish request, account and workspace."""
    return {
        "campaign_id": target.campaign.id,
        "publish_request_id": target.request.id,
        "billing_account_id": target.account.id,
        "workspace_id": target.campaign.workspace_id,
    }


def _charge_and_record(
    uow_factory: UowFactory,
    gateway: StripeGateway,
    config: PublishSettings,
    target: _Target,
    now: Clock,
) -> PublishStatus:
    started = time.monotonic()
    if target.open_payment_links and not _close_payment_links(uow_factory, gateway, target, now):
        return PublishStatus.SUCCEEDED
    result = gateway.charge(charge_request(target))
    log.info(
        "stripe_charge_answered",
        outcome=result.outcome.value,
        stripe_request_id=result.stripe_request_id,
        stripe_payment_intent_id=result.payment_intent_id,
        attempts=result.attempts,
    )
    if result.outcome is ChargeOutcome.UNKNOWN:
        result = _reconcile(gateway, target, result)
    payment_url: tuple[str, str] | None = None
    if result.outcome is ChargeOutcome.AUTHENTICATION_REQUIRED:
        payment_url = _payment_link(gateway, config, target)
    status = _record(uow_factory, target, result, payment_url, now())
    metrics.CHARGE_SECONDS.observe(time.monotonic() - started)
    return status


def _claim(uow_factory: UowFactory, request_id: str, now: Clock) -> _Target | PublishStatus | None:
    """Transaction 1: lock the request; stop if it is done; resolve the payer; write the charge
    attempt with its idempotency key before anyone calls Stripe."""
    with uow_factory() as uow:
        request = uow.publishing.get(request_id, for_update=True)
        if request is None:
            log.warning("publish_request_missing")
            return None
        if request.status.is_terminal:
            log.info("publish_request_already_terminal", status=request.status.value)
            return request.status
        campaign = uow.directory.get_campaign(request.workspace_id, request.campaign_id)
        if campaign is None:
            _finish_failed(uow, request, CampaignNotFound(request.campaign_id))
            uow.commit()
            return PublishStatus.FAILED

        charge = request.charge
        if charge is None:
            if campaign.published:
                # Published meanwhile by another way (a completed payment link): charge nothing.
                _finish_already_published(uow, request, campaign)
                uow.commit()
                return PublishStatus.SUCCEEDED
            try:
                payer = resolve_payer(load_payer_context(uow, campaign), now())
            except BillingFailure as failure:
                _finish_failed(uow, request, failure)
                uow.commit()
                log.info("publish_resolution_failed", code=failure.code, campaign_id=campaign.id)
                return PublishStatus.FAILED
            charge = Charge(
                id=new_id("chg"),
                publish_request_id=request.id,
                campaign_id=campaign.id,
                billing_account_id=payer.account.id,
                payment_method_id=payer.payment_method.id,
                price=campaign.price,
                idempotency_key=charge_idempotency_key(request.id),
                status=ChargeStatus.PENDING,
                stripe_payment_intent_id=None,
            )
            uow.publishing.add_charge(charge, campaign.workspace_id)
            uow.publishing.transition(
                request.id, from_=[PublishStatus.QUEUED], to=PublishStatus.PROCESSING
            )
            uow.commit()
            log.info(
                "charge_attempt_recorded",
                campaign_id=campaign.id,
                billing_account_id=payer.account.id,
                idempotency_key=charge.idempotency_key,
            )
            return _Target(
                request,
                campaign,
                charge,
                payer.account,
                payer.payment_method,
                payer.owner_name,
                tuple(uow.publishing.open_payment_links(campaign.id)),
            )

        # A charge attempt exists: a worker died, or this message is a redelivery. Carry on
        # with the same charge and the same key; Stripe replays the first answer.
        if charge.status is not ChargeStatus.PENDING:
            log.error("charge_settled_but_request_open", charge_status=charge.status.value)
            return request.status
        account = uow.accounts.get(None, charge.billing_account_id)
        method = account.find_payment_method(charge.payment_method_id) if account else None
        if account is None or method is None:
            raise RuntimeError(f"charge {charge.id} names an account or card that is gone")
        log.info(
            "charge_attempt_resumed",
            campaign_id=campaign.id,
            billing_account_id=charge.billing_account_id,
            idempotency_key=charge.idempotency_key,
        )
        return _Target(
            request,
            campaign,
            charge,
            account,
            method,
            owner_name(uow, account),
            tuple(uow.publishing.open_payment_links(campaign.id)),
        )


def _close_payment_links(
    uow_factory: UowFactory, gateway: StripeGateway, target: _Target, now: Clock
) -> bool:
    """Expires the payment links of the campaign's earlier requests before charging, so the
    cardholder cannot pay twice. Returns False when one was paid already: then that payment
    publishes the campaign, this request charges nothing, and answers with that result."""
    for earlier_id, session_id in target.open_payment_links:
        status, intent_id = gateway.expire_session(session_id)
        if status != "complete":
            continue
        log.info("payment_link_already_paid", earlier_publish_request_id=earlier_id)
        with uow_factory() as uow:
            # Ours first: one live charge per campaign, and this one never reached Stripe.
            uow.publishing.settle_charge(
                target.charge.id,
                from_=[ChargeStatus.PENDING],
                to=ChargeStatus.FAILED,
                stripe_payment_intent_id=None,
                at=now(),
            )
            earlier = uow.publishing.get(earlier_id)
            if earlier is not None and earlier.charge is not None:
                record_success(uow, earlier, earlier.charge, intent_id, now())
            campaign = uow.directory.get_campaign(target.campaign.workspace_id, target.campaign.id)
            assert campaign is not None
            _finish_already_published(uow, target.request, campaign, from_=PublishStatus.PROCESSING)
            uow.commit()
        return False
    return True


def _reconcile(gateway: StripeGateway, target: _Target, result: ChargeResult) -> ChargeResult:
    """After the retry budget ended on ambiguous errors: ask Stripe whether the charge exists."""
    created_after = int(target.request.created_at.timestamp()) - 60
    try:
        found = gateway.find_charge(
            target.account.stripe_customer_id or "", target.request.id, created_after
        )
    except (TransientStripeError, StripeRejected):
        log.warning("charge_reconciliation_unavailable")
        return result
    if found is None:
        # Listed and absent: every attempt failed before Stripe created an intent.
        log.info("charge_reconciled_absent")
        return ChargeResult(ChargeOutcome.NOT_EXECUTED, attempts=result.attempts)
    log.info("charge_reconciled_found", outcome=found.outcome.value)
    return found


def _payment_link(
    gateway: StripeGateway, config: PublishSettings, target: _Target
) -> tuple[str, str] | None:
    try:
        return gateway.create_payment_session(
            customer_id=target.account.stripe_customer_id or "",
            price=target.charge.price,
            product_name=f"Campaign {target.campaign.id}",
            metadata=_charge_metadata(target),
            success_url=config.success_url,
            cancel_url=config.cancel_url,
            idempotency_key=f"publish_request:{target.request.id}:payment_link",
        )
    except (TransientStripeError, StripeRejected):
        # The failure still says what happened and who must act; publishing again makes a link.
        log.warning("payment_link_unavailable", exc_info=True)
        return None


def _record(
    uow_factory: UowFactory,
    target: _Target,
    result: ChargeResult,
    payment_link: tuple[str, str] | None,
    at: datetime,
) -> PublishStatus:
    """Transaction 2: the charge's outcome, the request's terminal state, the campaign, and the
    one terminal event, together. A conditional update decides who records: a loser (duplicate
    task, sweep, late webhook) changes nothing."""
    with uow_factory() as uow:
        charge, request = target.charge, target.request
        card = target.payment_method.label
        owner = (target.account.owner_type, target.owner_name)
        match result.outcome:
            case ChargeOutcome.SUCCEEDED:
                status = record_success(uow, request, charge, result.payment_intent_id, at)
            case ChargeOutcome.DECLINED:
                failure: BillingFailure = CardDeclined(
                    campaign_id=target.campaign.id,
                    card=card,
                    owner_type=owner[0],
                    owner_name=owner[1],
                    decline_code=result.decline_code,
                )
                status = _settle_failed(uow, request, charge, ChargeStatus.FAILED, result, failure)
            case ChargeOutcome.AUTHENTICATION_REQUIRED:
                auth = AuthenticationRequired(
                    campaign_id=target.campaign.id,
                    card=card,
                    owner_type=owner[0],
                    owner_name=owner[1],
                )
                session_id = None
                if payment_link is not None:
                    session_id, url = payment_link
                    auth = auth.with_payment_url(url)
                status = _settle_failed(
                    uow,
                    request,
                    charge,
                    ChargeStatus.REQUIRES_ACTION,
                    result,
                    auth,
                    checkout_session_id=session_id,
                )
            case ChargeOutcome.REJECTED:
                failure = PaymentProviderRejected(
                    campaign_id=target.campaign.id,
                    reason=result.stripe_message or result.stripe_code or "invalid request",
                )
                status = _settle_failed(uow, request, charge, ChargeStatus.FAILED, result, failure)
            case ChargeOutcome.NOT_EXECUTED | ChargeOutcome.UNKNOWN:
                failure = PaymentProviderUnavailable(
                    campaign_id=target.campaign.id,
                    attempts=result.attempts,
                    last_error=result.stripe_message or "no answer",
                )
                # UNKNOWN keeps the charge blocking the campaign until the sweep reconciles it.
                charge_status = (
                    ChargeStatus.UNKNOWN
                    if result.outcome is ChargeOutcome.UNKNOWN
                    else ChargeStatus.FAILED
                )
                status = _settle_failed(uow, request, charge, charge_status, result, failure)
        uow.commit()
    log.info("publish_request_finished", status=status.value)
    return status


def record_success(
    uow: UnitOfWork,
    request: PublishRequest,
    charge: Charge,
    payment_intent_id: str | None,
    at: datetime,
) -> PublishStatus:
    """The charge succeeded: settle it, publish the campaign, end the request, emit
    `campaign.published`; all in the caller's transaction, once."""
    won = uow.publishing.settle_charge(
        charge.id,
        from_=[ChargeStatus.PENDING, ChargeStatus.UNKNOWN, ChargeStatus.REQUIRES_ACTION],
        to=ChargeStatus.SUCCEEDED,
        stripe_payment_intent_id=payment_intent_id,
        at=at,
    )
    if not won:
        return _current_status(uow, request.id)
    corrects = request.status is PublishStatus.FAILED
    uow.publishing.transition(
        request.id,
        from_=[PublishStatus.PROCESSING, PublishStatus.REQUIRES_ACTION, PublishStatus.FAILED],
        to=PublishStatus.SUCCEEDED,
    )
    uow.directory.mark_published(request.campaign_id, request.id, at)
    data: dict[str, Any] = {
        "charge": {
            "amount": charge.price.amount,
            "currency": charge.price.currency,
            "billing_account_id": charge.billing_account_id,
            "stripe_payment_intent_id": payment_intent_id,
        }
    }
    if corrects:
        data["corrects_failure"] = True
    uow.outbox.add(_event(EventType.PUBLISHED, request, data))
    _count_outcome(uow, PublishStatus.SUCCEEDED, None)
    return PublishStatus.SUCCEEDED


def _settle_failed(
    uow: UnitOfWork,
    request: PublishRequest,
    charge: Charge,
    charge_status: ChargeStatus,
    result: ChargeResult,
    failure: BillingFailure,
    *,
    checkout_session_id: str | None = None,
) -> PublishStatus:
    won = uow.publishing.settle_charge(
        charge.id,
        from_=[ChargeStatus.PENDING],
        to=charge_status,
        stripe_payment_intent_id=result.payment_intent_id,
        at=datetime.now(UTC),
    )
    if not won:
        return _current_status(uow, request.id)
    _finish_failed(uow, request, failure, checkout_session_id=checkout_session_id)
    return PublishStatus(failure.status)


def _finish_failed(
    uow: UnitOfWork,
    request: PublishRequest,
    failure: BillingFailure,
    *,
    checkout_session_id: str | None = None,
) -> None:
    status = PublishStatus(failure.status)
    data = failure.to_dict()
    won = uow.publishing.transition(
        request.id,
        from_=[PublishStatus.QUEUED, PublishStatus.PROCESSING],
        to=status,
        failure=data,
        checkout_session_id=checkout_session_id,
    )
    if not won:
        return
    event_type = (
        EventType.PAYMENT_ACTION_REQUIRED
        if status is PublishStatus.REQUIRES_ACTION
        else EventType.PUBLISH_FAILED
    )
    uow.outbox.add(_event(event_type, request, {"failure": data}))
    _count_outcome(uow, status, data)


def _finish_already_published(
    uow: UnitOfWork,
    request: PublishRequest,
    campaign: Campaign,
    *,
    from_: PublishStatus = PublishStatus.QUEUED,
) -> None:
    won = uow.publishing.transition(request.id, from_=[from_], to=PublishStatus.SUCCEEDED)
    if won:
        uow.outbox.add(
            _event(
                EventType.PUBLISHED,
                request,
                {
                    "already_published": True,
                    "published_by_request_id": uow.directory.campaign_published_by(campaign.id),
                },
            )
        )
        _count_outcome(uow, PublishStatus.SUCCEEDED, None)


def _current_status(uow: UnitOfWork, request_id: str) -> PublishStatus:
    current = uow.publishing.get(request_id)
    assert current is not None
    return current.status


def _event(event_type: EventType, request: PublishRequest, data: dict[str, Any]) -> Event:
    return Event(
        type=event_type,
        workspace_id=request.workspace_id,
        data={"campaign_id": request.campaign_id, "publish_request_id": request.id, **data},
    )


def _count_outcome(uow: UnitOfWork, status: PublishStatus, failure: dict[str, Any] | None) -> None:
    code = str(failure.get("code", "")) if failure else ""
    uow.after_commit(lambda: metrics.PUBLISH_OUTCOMES.labels(status.value, code).inc())
