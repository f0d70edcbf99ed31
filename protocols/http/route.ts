/**
 * One object per route holds its method, path, schemas and responses; `register` mounts the
 * handler and records the spec, and `openapi.ts` turns the recorded specs into the OpenAPI
 * document. Docs and behaviour come from the same definition.
 */
import type { Context, Hono } from 'hono';
import type { z } from 'zod';
import type { Principal } from '../../src/auth/index.ts';

/** `stamped`: the reply that already carries the request id (reply.ts), so the pipeline need not add it. */
export type Env = { Variables: { principal: Principal; requestId: string; stamped?: Response } };
export type Ctx = Context<Env>;

export interface ResponseSpec { description: string; schema?: z.ZodType; contentType?: string; headers?: Record<string, string> }

export interface RouteSpec {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Hono syntax: `/v1/twins/:id`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** `bearer`: a credential is required; `none`: public. */
  auth: 'bearer' | 'none';
  query?: z.ZodObject;
  body?: z.ZodType;
  bodyTypes?: string[];
  /** Request headers worth documenting (If-Match, Last-Event-ID, …). */
  headers?: Record<string, string>;
  responses: Record<number, ResponseSpec>;
}

export type Handler = (c: Ctx) => Response | Promise<Response>;

export interface RouteTable {
  specs: RouteSpec[];
  /** What runs around every handler (the app's request pipeline, pipeline.ts); none when absent. */
  wrap?: (spec: RouteSpec, handler: Handler) => Handler;
}

export function register(app: Hono<Env>, table: RouteTable, spec: RouteSpec, handler: Handler): void {
  table.specs.push(spec);
  app.on(spec.method.toUpperCase(), spec.path, table.wrap?.(spec, handler) ?? handler);
}
