"""The generated Python client against a live audit log server.

Generate the client first (run.sh does it):

    openapi-python-client generate --path openapi/openapi.json \
        --config examples/generated-client/python/generator.yaml --output-path GENERATED_DIR --meta none

then run with GENERATED_DIR's parent on PYTHONPATH:

    AUDIT_URL=http://127.0.0.1:8080 AUDIT_ADMIN_TOKEN=... python scenario.py

The scenario: an organization and two keys (admin token), a batch of events and its safe retry,
the filtered list followed through `nextCursor` to the end, one record fetched, a refused event,
and the chain verified. Every step checks what the server answered; any mismatch exits non-zero.
"""

from __future__ import annotations

import datetime
import os
import sys
import uuid
from http import HTTPStatus
from typing import Any, TypeVar

from audit_log_client import AuthenticatedClient
from audit_log_client.api.api_keys import create_api_key, list_api_keys
from audit_log_client.api.audit_logs import (
    get_audit_log,
    list_audit_logs,
    record_audit_log,
    record_audit_log_batch,
    verify_audit_logs,
)
from audit_log_client.api.organizations import create_organization
from audit_log_client.api.streams import create_log_stream, delete_log_stream, get_log_stream, pause_log_stream
from audit_log_client.models import (
    ActorType,
    ApiKeyList,
    AuditEvent,
    AuditEventMetadataType0,
    AuditLogPage,
    AuditRecord,
    BatchItemStatus,
    BatchRequest,
    BatchResponse,
    CreatedApiKey,
    LogStream,
    NewApiKey,
    NewLogStream,
    NewOrganization,
    Organization,
    Problem,
    Role,
    Scope,
    StreamState,
    VerifyReport,
    WebhookDestination,
    WebhookDestinationType,
)
from audit_log_client.types import UNSET, Response

T = TypeVar("T")

PROJECT = "p_python"
OTHER_PROJECT = "p_other"


def expect(response: Response[Any], status: HTTPStatus, kind: type[T]) -> T:
    """The parsed body of `response`, which must have `status` and be a `kind`."""
    if response.status_code != status or not isinstance(response.parsed, kind):
        raise AssertionError(
            f"expected {status.value} {kind.__name__}, got {response.status_code.value}: "
            f"{response.content.decode(errors='replace')}"
        )
    return response.parsed


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def main() -> None:
    base_url = os.environ["AUDIT_URL"]
    admin = AuthenticatedClient(base_url=base_url, token=os.environ["AUDIT_ADMIN_TOKEN"])

    # 1. An organization and its keys, with the operator's admin token.
    org = expect(
        create_organization.sync_detailed(client=admin, body=NewOrganization(name="Python scenario")),
        HTTPStatus.CREATED,
        Organization,
    )
    writer_reader = expect(
        create_api_key.sync_detailed(
            org.id,
            client=admin,
            body=NewApiKey(name="backend", scopes=[Scope.AUDITLOGSWRITE, Scope.AUDITLOGSREAD]),
        ),
        HTTPStatus.CREATED,
        CreatedApiKey,
    )
    reader = expect(
        create_api_key.sync_detailed(
            org.id,
            client=admin,
            body=NewApiKey(name="dashboard", scopes=[Scope.AUDITLOGSREAD], project_id=PROJECT),
        ),
        HTTPStatus.CREATED,
        CreatedApiKey,
    )
    keys = expect(list_api_keys.sync_detailed(org.id, client=admin), HTTPStatus.OK, ApiKeyList)
    check({key.id for key in keys.data} == {writer_reader.id, reader.id}, "both keys are listed")
    print(f"organization {org.id} with keys {writer_reader.secret_prefix}… and {reader.secret_prefix}…")

    client = AuthenticatedClient(base_url=base_url, token=writer_reader.secret)
    project_client = AuthenticatedClient(base_url=base_url, token=reader.secret)

    # 2. A batch: 23 prompt updates in one project, 7 dataset creations in another. The ids are
    #    set here, so the batch can be retried safely.
    started = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    events: list[AuditEvent] = []
    for n in range(23):
        events.append(
            AuditEvent(
                id=uuid.uuid4(),
                type_=ActorType.USER,
                user_id=f"u_{n % 3}",
                user_org_role=Role.ADMIN,
                project_id=PROJECT,
                resource_type="prompt",
                resource_id=f"pr_{n}",
                action="update",
                # Any JSON value is a valid state: objects, strings, lists, numbers.
                before={"prompt": f"v{n}"} if n % 2 else f"v{n}",
                after={"prompt": f"v{n + 1}"} if n % 2 else [n, n + 1],
                request_id=f"req-{n}",
                metadata=AuditEventMetadataType0.from_dict({"client": "python", "n": n}),
            )
        )
    for n in range(7):
        events.append(
            AuditEvent(
                id=uuid.uuid4(),
                type_=ActorType.API_KEY,
                api_key_id="pk_ci",
                project_id=OTHER_PROJECT,
                resource_type="dataset",
                resource_id=f"ds_{n}",
                action="create",
                after={"name": f"dataset {n}"},
            )
        )
    batch = expect(
        record_audit_log_batch.sync_detailed(client=client, body=BatchRequest(events=events)),
        HTTPStatus.OK,
        BatchResponse,
    )
    check(len(batch.results) == len(events), "one result per event")
    check(all(r.status == BatchItemStatus.CREATED for r in batch.results), f"all created: {batch.results}")
    retried = expect(
        record_audit_log_batch.sync_detailed(client=client, body=BatchRequest(events=events)),
        HTTPStatus.OK,
        BatchResponse,
    )
    check(all(r.status == BatchItemStatus.DUPLICATE for r in retried.results), "a retry stores nothing twice")
    print(f"batch of {len(events)} events recorded; the retry answered {len(retried.results)} duplicates")

    # 3. The filtered list, followed through nextCursor to the end.
    seen: list[AuditRecord] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = expect(
            list_audit_logs.sync_detailed(
                client=client,
                from_=started,
                project_id=PROJECT,
                resource_type="prompt",
                action="update",
                limit=5,
                cursor=cursor if cursor is not None else UNSET,
            ),
            HTTPStatus.OK,
            AuditLogPage,
        )
        pages += 1
        seen.extend(page.data)
        check(pages <= 10, "pagination ends")
        if not isinstance(page.next_cursor, str):
            break
        cursor = page.next_cursor
    check(len(seen) == 23, f"23 prompt updates, got {len(seen)}")
    check(len({record.id for record in seen}) == 23, "no record twice")
    check(all(r.project_id == PROJECT and r.resource_type == "prompt" for r in seen), "filters hold")
    seqs = [record.seq for record in seen]
    check(seqs == sorted(seqs, reverse=True), "newest first")
    print(f"listed {len(seen)} records in {pages} pages, seq {seqs[0]} down to {seqs[-1]}")

    # The project-restricted key sees its project only.
    # (Its own creation, an `apiKey` event of that project, is among them.)
    project_page = expect(
        list_audit_logs.sync_detailed(client=project_client, limit=1000), HTTPStatus.OK, AuditLogPage
    )
    check(all(r.project_id == PROJECT for r in project_page.data), "the project key sees its project only")
    prompts = [r for r in project_page.data if r.resource_type == "prompt"]
    check(len(prompts) == 23, f"and all 23 of its prompt updates, got {len(prompts)}")

    # 4. One record by id, the same as listed; a state that is not an object comes back as sent.
    wanted = next(record for record in seen if record.resource_id == "pr_4")
    fetched = expect(get_audit_log.sync_detailed(wanted.id, client=client), HTTPStatus.OK, AuditRecord)
    check(fetched.to_dict() == wanted.to_dict(), "get returns the listed record")
    check(fetched.before == "v4" and fetched.after == [4, 5], f"states as sent: {fetched.before!r}")
    check(len(fetched.hash_) == 64 and len(fetched.prev_hash) == 64, "chained")
    print(f"fetched record seq {fetched.seq}: before={fetched.before!r} after={fetched.after!r}")

    # 5. An action the catalog does not know: 422 with the allowed actions.
    refused = expect(
        record_audit_log.sync_detailed(
            client=client,
            body=AuditEvent(type_=ActorType.SYSTEM, resource_type="prompt", resource_id="pr_1", action="explode"),
        ),
        HTTPStatus.UNPROCESSABLE_ENTITY,
        Problem,
    )
    check(refused.status == 422 and isinstance(refused.allowed_actions, list), "allowed actions listed")
    check("update" in refused.allowed_actions, "update is allowed for prompts")

    # 6. A log stream to a webhook (a tagged destination), paused and deleted again; its secret is
    #    never returned.
    manager = expect(
        create_api_key.sync_detailed(
            org.id, client=admin, body=NewApiKey(name="streams", scopes=[Scope.APIKEYSMANAGE])
        ),
        HTTPStatus.CREATED,
        CreatedApiKey,
    )
    stream_client = AuthenticatedClient(base_url=base_url, token=manager.secret)
    destination = WebhookDestination(url="https://hooks.example.com/audit", type_=WebhookDestinationType.WEBHOOK)
    stream = expect(
        create_log_stream.sync_detailed(
            client=stream_client,
            body=NewLogStream(name="SIEM", destination=destination, secret="whsec_" + "s" * 32),
        ),
        HTTPStatus.CREATED,
        LogStream,
    )
    check(isinstance(stream.destination, WebhookDestination), f"a webhook: {stream.destination!r}")
    check(stream.destination.url == destination.url and stream.has_secret, "destination kept, secret held")
    check("s" * 16 not in str(stream.to_dict()), "the secret is never returned")
    paused = expect(pause_log_stream.sync_detailed(stream.id, client=stream_client), HTTPStatus.OK, LogStream)
    check(paused.state == StreamState.PAUSED, f"paused: {paused.state}")
    check(delete_log_stream.sync_detailed(stream.id, client=stream_client).status_code == HTTPStatus.NO_CONTENT, "deleted")
    gone = get_log_stream.sync_detailed(stream.id, client=stream_client)
    check(gone.status_code == HTTPStatus.NOT_FOUND, f"gone after delete: {gone.status_code}")
    print(f"log stream {stream.id} to {stream.destination.url} created, paused and deleted")

    # 7. The chain verifies.
    report = expect(verify_audit_logs.sync_detailed(client=client), HTTPStatus.OK, VerifyReport)
    check(report.valid is True, f"chain valid: {report.to_dict()}")
    check(report.checked == report.head_seq and report.checked >= len(events), "every record checked")
    print(f"chain verified: {report.checked} records, head {report.head_hash[:12]}…")
    print("python scenario: OK")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as error:
        print(f"python scenario FAILED: {error}", file=sys.stderr)
        sys.exit(1)
