/**
 * The request as a reporter sees it: a frozen summary with the app's redaction policy applied, made
 * once per report. Reporters run after the response, often somewhere else (a mail, an error
 * service), so they get what identifies the request, never a credential.
 */
import type { FastifyRequest } from 'fastify'
import type { Redaction } from './redact.js'

/** What a reporter learns about the request that failed. */
export interface RequestSummary {
  /** HTTP method, e.g. `GET`. */
  method: string
  /** The URL as the client sent it, with the values of secret query parameters masked (`?token=[masked]`). */
  url: string
  /** The route pattern that matched (`/users/:id`); `undefined` for routing 404s. */
  route: string | undefined
  /** Fastify's request id (`request.id`), the one on the request's log lines. */
  requestId: string
  /** The client address as Fastify sees it (`request.ip`, honours `trustProxy`). */
  ip: string
  /** Request headers, masked by the app's redaction policy (cookie names and the auth scheme are kept). */
  headers: Record<string, string | string[] | undefined>
}

/** The part of a request a reporter may see: method, masked URL, route, request id, client address, masked headers. */
export function summarizeRequest (request: FastifyRequest, redaction: Redaction): RequestSummary {
  return Object.freeze({
    method: request.method,
    url: redaction.url(request.url),
    route: request.routeOptions.url,
    requestId: request.id,
    ip: request.ip,
    headers: Object.freeze(redaction.headers(request.headers))
  })
}
