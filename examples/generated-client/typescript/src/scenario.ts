// The audit log service from TypeScript: plain `fetch`, typed by the types openapi-typescript
// generates from the checked-in OpenAPI document (generated/api.d.ts, not committed).
//
//   npm ci && npm run generate && npm run build
//   AUDIT_URL=http://127.0.0.1:8080 AUDIT_ADMIN_TOKEN=... node dist/src/scenario.js
//
// The scenario: an organization and two keys (admin token), a batch of events and its safe retry,
// the filtered list followed through `nextCursor` to the end, one record fetched, a refused event,
// and the chain verified. Any mismatch exits non-zero.

import { randomUUID } from "node:crypto";
import type { components, operations } from "../generated/api.js";

type Schemas = components["schemas"];
type OperationId = keyof operations;

/** The JSON request body of an operation. */
type RequestBody<Id extends OperationId> = operations[Id] extends {
  requestBody: { content: { "application/json": infer Body } };
}
  ? Body
  : never;

/** The statuses an operation documents. */
type Status<Id extends OperationId> = keyof operations[Id]["responses"] & number;

/** The body an operation answers with `status`: JSON, problem+json, or nothing (204). */
type ResponseBody<Id extends OperationId, S extends Status<Id>> = operations[Id]["responses"][S] extends {
  content: { "application/json": infer Body };
}
  ? Body
  : operations[Id]["responses"][S] extends { content: { "application/problem+json": infer Problem } }
    ? Problem
    : undefined;

/** The query parameters of an operation. */
type Query<Id extends OperationId> = NonNullable<operations[Id]["parameters"]["query"]>;

const baseUrl = required("AUDIT_URL");
const adminToken = required("AUDIT_ADMIN_TOKEN");

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set`);
  }
  return value;
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) {
    throw new Error(message);
  }
}

/**
 * Calls one documented operation and checks the answer has the expected status. The operation
 * id ties the path, body, query and answer to the generated types.
 */
async function call<Id extends OperationId, S extends Status<Id>>(
  _operation: Id,
  request: {
    method: "GET" | "POST" | "DELETE";
    path: string;
    token: string;
    expect: S;
    body?: RequestBody<Id>;
    query?: Query<Id>;
  },
): Promise<ResponseBody<Id, S>> {
  const url = new URL(request.path, baseUrl);
  for (const [name, value] of Object.entries(request.query ?? {})) {
    if (value !== undefined && value !== null) {
      url.searchParams.set(name, String(value));
    }
  }
  const headers: Record<string, string> = { Authorization: `Bearer ${request.token}` };
  const init: RequestInit = { method: request.method, headers };
  if (request.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(request.body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  if (response.status !== request.expect) {
    throw new Error(`${request.method} ${url.pathname}: expected ${request.expect}, got ${response.status}: ${text}`);
  }
  if (response.status >= 400) {
    check(
      response.headers.get("content-type") === "application/problem+json",
      `errors are application/problem+json, got ${response.headers.get("content-type")}`,
    );
  }
  return (text === "" ? undefined : JSON.parse(text)) as ResponseBody<Id, S>;
}

const PROJECT = "p_typescript";
const OTHER_PROJECT = "p_other";

async function main(): Promise<void> {
  // 1. An organization and its keys, with the operator's admin token.
  const org: Schemas["Organization"] = await call("createOrganization", {
    method: "POST",
    path: "/api/v1/organizations",
    token: adminToken,
    expect: 201,
    body: { name: "TypeScript scenario" },
  });
  const backend: Schemas["CreatedApiKey"] = await call("createApiKey", {
    method: "POST",
    path: `/api/v1/organizations/${org.id}/api-keys`,
    token: adminToken,
    expect: 201,
    body: { name: "backend", scopes: ["auditLogs:write", "auditLogs:read"] },
  });
  const dashboard = await call("createApiKey", {
    method: "POST",
    path: `/api/v1/organizations/${org.id}/api-keys`,
    token: adminToken,
    expect: 201,
    body: { name: "dashboard", scopes: ["auditLogs:read"], projectId: PROJECT },
  });
  const keys = await call("listApiKeys", {
    method: "GET",
    path: `/api/v1/organizations/${org.id}/api-keys`,
    token: adminToken,
    expect: 200,
  });
  check(keys.data.length === 2, "both keys are listed");
  check(keys.data.every((key) => !("secret" in key)), "listed keys carry no secret");
  console.log(`organization ${org.id} with keys ${backend.secretPrefix}… and ${dashboard.secretPrefix}…`);

  // 2. A batch: 23 prompt updates in one project, 7 dataset creations in another. The ids are set
  //    here, so the batch can be retried safely.
  const started = new Date(Date.now() - 1000).toISOString();
  const events: Schemas["AuditEvent"][] = [];
  for (let n = 0; n < 23; n++) {
    events.push({
      id: randomUUID(),
      type: "USER",
      userId: `u_${n % 3}`,
      userOrgRole: "ADMIN",
      projectId: PROJECT,
      resourceType: "prompt",
      resourceId: `pr_${n}`,
      action: "update",
      // Any JSON value is a valid state: objects, strings, lists, numbers.
      before: n % 2 ? { prompt: `v${n}` } : `v${n}`,
      after: n % 2 ? { prompt: `v${n + 1}` } : [n, n + 1],
      requestId: `req-${n}`,
      metadata: { client: "typescript", n },
    });
  }
  for (let n = 0; n < 7; n++) {
    events.push({
      id: randomUUID(),
      type: "API_KEY",
      apiKeyId: "pk_ci",
      projectId: OTHER_PROJECT,
      resourceType: "dataset",
      resourceId: `ds_${n}`,
      action: "create",
      after: { name: `dataset ${n}` },
    });
  }
  const batch: Schemas["BatchResponse"] = await call("recordAuditLogBatch", {
    method: "POST",
    path: "/api/v1/audit-logs/batch",
    token: backend.secret,
    expect: 200,
    body: { events },
  });
  check(batch.results.length === events.length, "one result per event");
  const notCreated = batch.results.filter((result) => result.status !== "created");
  check(notCreated.length === 0, `all created: ${JSON.stringify(notCreated)}`);
  const retried = await call("recordAuditLogBatch", {
    method: "POST",
    path: "/api/v1/audit-logs/batch",
    token: backend.secret,
    expect: 200,
    body: { events },
  });
  check(
    retried.results.every((result) => result.status === "duplicate"),
    "a retry stores nothing twice",
  );
  console.log(`batch of ${events.length} events recorded; the retry answered ${retried.results.length} duplicates`);

  // 3. The filtered list, followed through nextCursor to the end.
  const seen: Schemas["AuditRecord"][] = [];
  const filter: Query<"listAuditLogs"> = {
    from: started,
    projectId: PROJECT,
    resourceType: "prompt",
    action: "update",
    limit: 5,
  };
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page: Schemas["AuditLogPage"] = await call("listAuditLogs", {
      method: "GET",
      path: "/api/v1/audit-logs",
      token: backend.secret,
      expect: 200,
      query: cursor === undefined ? filter : { ...filter, cursor },
    });
    pages++;
    seen.push(...page.data);
    check(pages <= 10, "pagination ends");
    if (page.nextCursor === null || page.nextCursor === undefined) {
      break;
    }
    cursor = page.nextCursor;
  }
  check(seen.length === 23, `23 prompt updates, got ${seen.length}`);
  check(new Set(seen.map((record) => record.id)).size === 23, "no record twice");
  check(
    seen.every((record) => record.projectId === PROJECT && record.resourceType === "prompt"),
    "filters hold",
  );
  const seqs = seen.map((record) => record.seq);
  check(
    seqs.every((seq, i) => i === 0 || seq < (seqs[i - 1] ?? Number.POSITIVE_INFINITY)),
    "newest first",
  );
  console.log(`listed ${seen.length} records in ${pages} pages, seq ${seqs[0]} down to ${seqs[seqs.length - 1]}`);

  // The project-restricted key sees its project only (its own creation, an `apiKey` event of
  // that project, is among them).
  const projectPage = await call("listAuditLogs", {
    method: "GET",
    path: "/api/v1/audit-logs",
    token: dashboard.secret,
    expect: 200,
    query: { limit: 1000 },
  });
  check(
    projectPage.data.every((record) => record.projectId === PROJECT),
    "the project key sees its project only",
  );
  check(
    projectPage.data.filter((record) => record.resourceType === "prompt").length === 23,
    "and all 23 of its prompt updates",
  );

  // 4. One record by id, the same as listed; a state that is not an object comes back as sent.
  const wanted = seen.find((record) => record.resourceId === "pr_4");
  check(wanted !== undefined, "pr_4 was listed");
  const fetched: Schemas["AuditRecord"] = await call("getAuditLog", {
    method: "GET",
    path: `/api/v1/audit-logs/${wanted.id}`,
    token: backend.secret,
    expect: 200,
  });
  check(JSON.stringify(fetched) === JSON.stringify(wanted), "get returns the listed record");
  const before: unknown = fetched.before;
  check(before === "v4", `before as sent: ${JSON.stringify(before)}`);
  check(JSON.stringify(fetched.after) === "[4,5]", `after as sent: ${JSON.stringify(fetched.after)}`);
  check(fetched.hash.length === 64 && fetched.prevHash.length === 64, "chained");
  console.log(`fetched record seq ${fetched.seq}: before=${JSON.stringify(before)} after=${JSON.stringify(fetched.after)}`);

  // 5. An action the catalog does not know: 422 with the allowed actions.
  const refused: Schemas["Problem"] = await call("recordAuditLog", {
    method: "POST",
    path: "/api/v1/audit-logs",
    token: backend.secret,
    expect: 422,
    body: { type: "SYSTEM", resourceType: "prompt", resourceId: "pr_1", action: "explode" },
  });
  check(refused.status === 422, "the problem names its status");
  check(refused.allowedActions?.includes("update") === true, "the allowed actions are listed");

  // 6. The chain verifies.
  const report: Schemas["VerifyReport"] = await call("verifyAuditLogs", {
    method: "GET",
    path: "/api/v1/audit-logs/verify",
    token: backend.secret,
    expect: 200,
  });
  check(report.valid, `chain valid: ${JSON.stringify(report)}`);
  check(report.checked === report.headSeq && report.checked >= events.length, "every record checked");
  console.log(`chain verified: ${report.checked} records, head ${report.headHash.slice(0, 12)}…`);
  console.log("typescript scenario: OK");
}

main().catch((error: unknown) => {
  console.error(`typescript scenario FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
