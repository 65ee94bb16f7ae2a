import { OpenAPIRegistry, type RouteConfig } from "@asteasolutions/zod-to-openapi";
import { Router, type IRequest } from "itty-router";
import { z, type ZodType } from "zod";
import { authenticateAccount, authenticateAdmin, type AuthContext } from "./auth";
import { ApiError, badRequest, notFound, toErrorResponse, unprocessable, type ErrorDetail } from "./errors";
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
}

interface ResponseSpec {
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
  responses: Record<number, ResponseSpec>;
  handler: (ctx: RouteContext<Out<P>, Out<Q>, Out<B>, A>) => Promise<Response> | Response;
}

const COMMON_ERRORS: Record<number, string> = {
  400: "Malformed request (e.g. invalid JSON).",
  404: "Not found (also another account's resource).",
  422: "Validation failed; `details` names every offending field.",
};

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

async function readJson(request: Request, optional: boolean): Promise<unknown> {
  const text = await request.text();
  if (!text.trim()) {
    if (optional) return {};
    throw badRequest("missing_body", "A JSON request body is required.");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest("invalid_json", "The request body is not valid JSON.");
  }
}

/**
 * One definition per endpoint: the same zod schemas validate requests and generate
 * the OpenAPI document, and itty-router dispatches.
 */
export class Api {
  readonly registry = new OpenAPIRegistry();
  private readonly router = Router();
  private readonly patterns: { method: string; regex: RegExp }[] = [];

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
    });
    this.registerDoc(spec);

    this.router[spec.method](ittyPath, async (req: IRequest, env: Env, exec: ExecutionContext) => {
      const auth =
        spec.auth === "account"
          ? await authenticateAccount(req, env, exec)
          : spec.auth === "admin"
            ? (authenticateAdmin(req, env), null)
            : null;
      const url = new URL(req.url);
      const params = spec.params ? validate(spec.params, req.params, "path") : undefined;
      const query = spec.query ? validate(spec.query, parseQuery(url.searchParams), "query") : undefined;
      const body = spec.body
        ? validate(spec.body, await readJson(req, spec.bodyOptional ?? false), "body")
        : undefined;
      return spec.handler({ request: req, url, env, exec, params, query, body, auth } as unknown as RouteContext<
        Out<P>,
        Out<Q>,
        Out<B>,
        A
      >);
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
        params: spec.params as never,
        query: spec.query as never,
        body: spec.body
          ? { required: !spec.bodyOptional, content: { "application/json": { schema: spec.body as ZodType } } }
          : undefined,
      },
      responses,
    });
  }

  async handle(request: Request, env: Env, exec: ExecutionContext): Promise<Response> {
    try {
      const response: Response | undefined = await this.router.fetch(request, env, exec);
      if (response) return response;
      const path = new URL(request.url).pathname;
      const allowed = this.patterns.filter((p) => p.regex.test(path)).map((p) => p.method);
      if (allowed.length > 0) {
        const allow = [...new Set(allowed)].join(", ");
        throw new ApiError(405, "method_not_allowed", `Method ${request.method} is not allowed here; use ${allow}.`, [], {
          Allow: allow,
        });
      }
      throw notFound("Route");
    } catch (error) {
      return toErrorResponse(error);
    }
  }
}
