import { OpenAPIRegistry, type RouteConfig } from "@asteasolutions/zod-to-openapi";
import { Router, type IRequest } from "itty-router";
import { z, type ZodType } from "zod";
import { authenticateAccount, authenticateAdmin, type AuthContext } from "./auth";
import { database } from "../db/client";
import { MAX_BODY_BYTES, readJsonBody } from "./body";
import { ApiError, badRequest, notFound, toErrorResponse, unprocessable, type ErrorDetail } from "./errors";
import { idempotencyContext, idempotencyKey, replayIdempotent, runIdempotent, type IdempotencyContext } from "./idempotency";
import { log } from "../platform/log";
import { parseQuery } from "./query";
import { ErrorEnvelope } from "./schemas";

type Method = "get" | "post" | "put" | "patch" | "delete";
type AuthMode = "account" | "admin" | "none";
type Out<S> = S extends ZodType ? z.output<S> : undefined;

export interface RouteContext<P, Q, B, A extends AuthMode> {
  request: Request;
  url: URL;
  env: Env;
  exec: ExecutionContext;
  params: P;
  query: Q;
  body: B;
  auth: A extends "account" ? AuthContext : null;
  /**
   * `idempotency: "handler"` routes: the request's Idempotency-Key context (null without a key),
   * a repeat already answered with the stored answer; the handler stores its answer in its own
   * transaction. Null on every other route.
   */
  idempotency: IdempotencyContext | null;
}

export interface ResponseSpec {
  description: string;
  schema?: ZodType;
  contentType?: string;
}

export interface RouteSpec<P, Q, B, A extends AuthMode> {
  method: Method;
  /** OpenAPI-style path: /v1/keys/{id} */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  auth: A;
  params?: P;
  query?: Q;
  body?: B;
  /** Body may be omitted entirely (treated as {}). */
  bodyOptional?: boolean;
  /**
   * Idempotency-Key handling. Default: every account POST is run at most once per key here,
   * which is right for creating POSTs. "handler": a repeat is answered here, and the handler
   * stores its answer in its own transaction (`ctx.idempotency`). "refused": 400 if sent; for actions whose answer is ephemeral (a replay would
   * hand back a stale code or result) or whose repeat is harmless.
   */
  idempotency?: "handler" | "refused";
  /**
   * The accept routes (with `idempotency: "handler"`): the key may come from this isolate's cache
   * (`auth.cached`), and the Idempotency-Key is not read here; the handler re-checks the key
   * and reads the stored answer itself (api/accept-gate.ts), so a warm send costs no trip for them.
   */
  fastAccept?: boolean;
  /** What of a 2xx answer is stored for an Idempotency-Key replay (drop secrets shown once). */
  idempotentAnswer?: (answer: any) => unknown;
  /** Body size cap in bytes when a route needs more than MAX_BODY_BYTES (1 MiB). */
  maxBodyBytes?: number;
  responses: Record<number, ResponseSpec>;
  handler: (ctx: RouteContext<Out<P>, Out<Q>, Out<B>, A>) => Promise<Response> | Response;
}

const COMMON_ERRORS: Record<number, string> = {
  400: "Malformed request (e.g. invalid JSON, not UTF-8, nested deeper than 32 levels).",
  404: "Not found (also another account's resource).",
  422: "Validation failed; `details` names every offending field.",
};

const IdempotencyHeader = z.object({
  "Idempotency-Key": z.string().min(1).max(255).optional().meta({
    description: "1-255 printable ASCII characters. A repeat with the same key and body within 24 h returns the first answer (`Idempotent-Replayed: true`) and creates nothing; the same key with another body is 422 `idempotency_key_reused`. A twin sent while the first still runs gets 409 `idempotency_key_in_progress`, except where the answer is stored with what it creates (messages, batch, webhooks): there one of the two is stored and the other gets its answer.",
  }),
});

function issuesToDetails(issues: z.core.$ZodIssue[], where: ErrorDetail["in"]): ErrorDetail[] {
  return issues.map((issue) => ({
    field: issue.path.map(String).join(".") || undefined,
    in: where,
    code: issue.code,
    message: issue.message,
  }));
}

function validate<S extends ZodType>(schema: S, value: unknown, where: ErrorDetail["in"]): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw unprocessable(issuesToDetails(result.error.issues, where));
  return result.data;
}

/** Path parameters as the client meant them: generated clients percent-encode `+` and `@`. */
function decodeParams(raw: Record<string, string> | undefined): Record<string, string> {
  const params: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(raw ?? {})) {
    try {
      params[name] = decodeURIComponent(value);
    } catch {
      throw badRequest("invalid_path", `Malformed percent-encoding in the path parameter "${name}".`, [
        { field: name, in: "path", code: "malformed_encoding", message: "Malformed percent-encoding." },
      ]);
    }
  }
  return params;
}

/**
 * One definition per endpoint: the same zod schemas validate requests and generate
 * the OpenAPI document, and itty-router dispatches.
 */
export class Api {
  readonly registry = new OpenAPIRegistry();
  private readonly router = Router();
  private readonly patterns: { method: string; regex: RegExp; path: string; responses: Record<number, ResponseSpec> }[] = [];

  constructor() {
    this.registry.registerComponent("securitySchemes", "bearerAuth", {
      type: "http",
      scheme: "bearer",
      description: "An account API key (`wag_...`), or the admin token for /v1/admin routes.",
    });
  }

  route<P extends ZodType | undefined = undefined, Q extends ZodType | undefined = undefined, B extends ZodType | undefined = undefined, A extends AuthMode = AuthMode>(
    spec: RouteSpec<P, Q, B, A>,
  ): void {
    const ittyPath = spec.path.replace(/\{(\w+)\}/g, ":$1");
    this.patterns.push({
      method: spec.method.toUpperCase(),
      regex: new RegExp(`^${spec.path.replace(/\{\w+\}/g, "[^/]+")}/?$`),
      path: spec.path,
      responses: spec.responses,
    });
    this.registerDoc(spec);

    const fastAccept = spec.fastAccept === true && spec.idempotency === "handler";
    this.router[spec.method](ittyPath, async (req: IRequest, env: Env, exec: ExecutionContext) => {
      const auth =
        spec.auth === "account"
          ? await authenticateAccount(req, env, exec, fastAccept)
          : spec.auth === "admin"
            ? (authenticateAdmin(req, env), null)
            : null;
      // Refused before anything else: the client must not believe a repeat would be answered once.
      const refusesIdempotency = spec.method === "post" && (spec.idempotency === "refused" || !auth);
      if (refusesIdempotency && idempotencyKey(req) !== null) {
        throw badRequest("idempotency_not_supported", "This endpoint does not take an Idempotency-Key.", [
          { field: "Idempotency-Key", in: "header", message: "Not supported here; send the request without it." },
        ]);
      }
      const url = new URL(req.url);
      const params = spec.params ? validate(spec.params, decodeParams(req.params), "path") : undefined;
      // Parsed even without a query schema: a prototype key is refused on every route.
      const rawQuery = parseQuery(url.search);
      const query = spec.query ? validate(spec.query, rawQuery, "query") : undefined;
      // A route without a body schema ignores its body, but still refuses one that breaks the rules.
      const rawBody = spec.body || req.body ? await readJsonBody(req, !spec.body || (spec.bodyOptional ?? false), spec.maxBodyBytes) : undefined;
      const body = spec.body ? validate(spec.body, rawBody, "body") : undefined;
      const run = (idempotency: IdempotencyContext | null = null) =>
        Promise.resolve(
          spec.handler({ request: req, url, env, exec, params, query, body, auth, idempotency } as unknown as RouteContext<Out<P>, Out<Q>, Out<B>, A>),
        );
      if (spec.method !== "post" || refusesIdempotency || !auth) return run();
      if (spec.idempotency === "handler") {
        // The validated body is the request here (defaults applied), as the handler stores it.
        const idem = await idempotencyContext(req, url, body);
        const replay = idem && !fastAccept ? await replayIdempotent(database(env), auth.account.id, idem) : null;
        return replay ?? run(idem);
      }
      // A route without a body schema ignores its body, so the body is not part of the request.
      const idem = await idempotencyContext(req, url, spec.body ? (rawBody ?? null) : null);
      return idem ? runIdempotent(database(env), auth.account.id, idem, run, spec.idempotentAnswer) : run();
    });
  }

  private registerDoc(spec: RouteSpec<unknown, unknown, unknown, AuthMode>): void {
    const responses: RouteConfig["responses"] = {};
    for (const [status, r] of Object.entries({ ...spec.responses })) {
      responses[status] = r.schema
        ? { description: r.description, content: { [r.contentType ?? "application/json"]: { schema: r.schema } } }
        : { description: r.description };
    }
    const errors: Record<number, string> = { ...COMMON_ERRORS };
    if (spec.auth !== "none") errors[401] = "Missing, malformed, unknown or revoked credentials.";
    if (spec.body) {
      errors[413] = `The body is larger than ${spec.maxBodyBytes ?? MAX_BODY_BYTES} bytes (\`payload_too_large\`).`;
      errors[415] = "A body not sent as `Content-Type: application/json` (`unsupported_media_type`).";
    }
    for (const [status, description] of Object.entries(errors)) {
      responses[status] ??= { description, content: { "application/json": { schema: ErrorEnvelope } } };
    }
    this.registry.registerPath({
      method: spec.method,
      path: spec.path,
      summary: spec.summary,
      description: spec.description,
      tags: spec.tags,
      security: spec.auth === "none" ? [] : [{ bearerAuth: [] }],
      request: {
        headers: spec.method === "post" && spec.auth === "account" && spec.idempotency !== "refused" ? (IdempotencyHeader as never) : undefined,
        params: spec.params as never,
        query: spec.query as never,
        body: spec.body
          ? { required: !spec.bodyOptional, content: { "application/json": { schema: spec.body as ZodType } } }
          : undefined,
      },
      responses,
    });
  }

  /**
   * What the route serving `method` + `pathname` declares for `status` (first match, as the
   * router dispatches): its spec (no schema for a non-JSON answer), or undefined when the status
   * is not declared; null when no route serves the request. Errors (4xx/5xx) are the ErrorEnvelope.
   */
  declaredResponse(method: string, pathname: string, status: number): { path: string; spec: ResponseSpec | undefined } | null {
    const route = this.patterns.find((p) => p.method === method.toUpperCase() && p.regex.test(pathname));
    if (!route) return null;
    if (status >= 400) return { path: route.path, spec: { description: route.responses[status]?.description ?? "Error", schema: ErrorEnvelope } };
    return { path: route.path, spec: route.responses[status] };
  }

  async handle(request: Request, env: Env, exec: ExecutionContext): Promise<Response> {
    try {
      const response: Response | undefined = await this.router.fetch(request, env, exec);
      if (response) return response;
      const path = new URL(request.url).pathname;
      const allowed = this.patterns.filter((p) => p.regex.test(path)).map((p) => p.method);
      if (allowed.length > 0) {
        const methods = [...new Set(allowed)];
        const allow = methods.join(", ");
        throw new ApiError(405, "method_not_allowed", `Method ${request.method} is not allowed here; use ${allow}.`, { allow: methods }, {
          Allow: allow,
        });
      }
      throw notFound("Route");
    } catch (error) {
      logFailure(request, error);
      return toErrorResponse(error);
    }
  }
}

/** What the operator needs of a failed request: a bug whole, an ApiError's internal cause; the client sees neither. */
function logFailure(request: Request, error: unknown): void {
  const where = { method: request.method, path: new URL(request.url).pathname };
  if (!(error instanceof ApiError)) log.error({ ...where, err: error }, "unhandled error");
  else if (error.internal !== undefined) {
    const fields = { ...where, status: error.status, code: error.code, internal: error.internal };
    if (error.status >= 500) log.error(fields, error.message);
    else log.warn(fields, error.message);
  }
}
