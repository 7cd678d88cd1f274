from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select, update

from services.dialogue_api.notifications.models import Notification
from services.dialogue_api.webhooks.models import WebhookSubscription
from shared.pagination import PageParams, keyset
from shared.repository import Repository


class WebhookRepository(Repository[WebhookSubscription]):
    model = WebhookSubscription

    async def search(
        self, page: PageParams, *, active: bool | None = None, event_type: str | None = None
    ) -> Sequence[WebhookSubscription]:
        """A page of subscriptions by id."""
        statement = select(WebhookSubscription)
        if active is not None:
            statement = statement.where(WebhookSubscription.active.is_(active))
        if event_type is not None:
            statement = statement.where(WebhookSubscription.event_types.any_() == event_type)
        return (await self.session.scalars(keyset(statement, page, WebhookSubscription.id))).all()

    async def for_update(self, subscription_id: int) -> WebhookSubscription | None:
        """The subscription with its row locked until the transaction ends."""
        return await self.session.scalar(
            select(WebhookSubscription)
            .where(WebhookSubscription.id == subscription_id)
            .with_for_update()
        )

    async def active_for(self, event_type: str) -> Sequence[WebhookSubscription]:
        """The active subscriptions to ``event_type``, by id."""
        return (
            await self.session.scalars(
                select(WebhookSubscription)
                .where(
                    WebhookSubscription.active.is_(True),
                    WebhookSubscription.event_types.contains([event_type]),
                )
                .order_by(WebhookSubscription.id)
            )
        ).all()

    async def record_success(self, subscription_id: int) -> None:
        """A delivery went through: the failures in a row start again from zero."""
        await self.session.execute(
            update(WebhookSubscription)
            .where(
                WebhookSubscription.id == subscription_id,
                WebhookSubscription.consecutive_failures != 0,
            )
            .values(consecutive_failures=0)
            .execution_options(synchronize_session=False)
        )

    async def record_failure(
        self, subscription_id: int, *, disable_after: int
    ) -> WebhookSubscription | None:
        """One more failed attempt in a row; at ``disable_after`` the subscription is disabled
        (a new version: its representation changed). The subscription, if it still exists."""
        subscription = await self.for_update(subscription_id)
        if subscription is None:
            return None
        subscription.consecutive_failures += 1
        if subscription.active and subscription.consecutive_failures >= disable_after:
            subscription.active = False
            subscription.disabled_at = datetime.now(UTC)
            subscription.disabled_reason = f"{disable_after} failed deliveries in a row"
            subscription.version += 1
        await self.flush()
        return subscription

    async def skip_waiting_deliveries(self, subscription_id: int) -> None:
        """Mark the subscription's deliveries still waiting ``skipped`` (it is being removed:
        the delivery log keeps them)."""
        await self.session.execute(
            update(Notification)
            .where(
                Notification.subscription_id == subscription_id, Notification.status == "pending"
            )
            .values(status="skipped", last_error="the webhook subscription was removed")
            .execution_options(synchronize_session=False)
        )
