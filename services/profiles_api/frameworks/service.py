"""Framework versions: published once, never changed; a change is a new version.

The three frameworks the platform ships (``shipped/*.yaml``) are published by the seed
(``publish_shipped``) like any version an admin POSTs: the same schema, the same checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.frameworks.document import FrameworkDocument, check
from services.profiles_api.frameworks.models import Framework
from services.profiles_api.frameworks.repository import FrameworkRepository
from shared.errors import Conflict, NotFound, ValidationFailed

SHIPPED = Path(__file__).parent / "shipped"


async def list_frameworks(session: AsyncSession) -> Sequence[Framework]:
    return await FrameworkRepository.from_session(session).all()


async def get_framework(session: AsyncSession, code: str, version: str) -> Framework:
    found = await FrameworkRepository.from_session(session).find(code, version)
    if found is None:
        raise NotFound(f"No framework {code!r} in version {version!r}.", code=code, version=version)
    return found


async def publish(
    session: AsyncSession, document: FrameworkDocument, *, actor: str
) -> tuple[Framework, bool]:
    """Publish a framework version; returns it and whether it is new.

    The same version published again with the same content is the same version (nothing is
    written); with other content it is a 409: a published version never changes.
    """
    if errors := check(document):
        fields = ", ".join(error["field"] for error in errors)
        raise ValidationFailed(f"Invalid framework in: {fields}.", errors=errors)
    repository = FrameworkRepository.from_session(session)
    content_hash = document.content_hash()
    existing = await repository.find(document.code, document.version)
    if existing is not None:
        if existing.content_hash == content_hash:
            return existing, False
        raise Conflict(
            f"Framework {document.code!r} {document.version} is published and never changes: "
            "publish the change as a new version.",
            code=document.code,
            version=document.version,
        )
    framework = Framework(
        code=document.code,
        version=document.version,
        titles=document.titles,
        model=document.model,
        licence=document.licence,
        rankable=document.rankable,
        evidence_required=document.evidence_required,
        document=document.model_dump(mode="json"),
        content_hash=content_hash,
        created_by=actor,
    )
    await repository.add(framework)
    await repository.add_items(framework.id, document)
    await session.refresh(framework)
    return framework, True


def shipped_documents() -> list[FrameworkDocument]:
    """The frameworks the platform ships, read from their YAML files."""
    return [
        FrameworkDocument.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        for path in sorted(SHIPPED.glob("*.yaml"))
    ]


async def publish_shipped(session: AsyncSession) -> list[tuple[Framework, bool]]:
    """Publish every shipped framework version not published yet (the seed's step); each
    version with whether it was new."""
    return [await publish(session, document, actor="system") for document in shipped_documents()]
