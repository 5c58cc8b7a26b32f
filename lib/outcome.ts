/**
 * What an error response tells the world outside the response: the request's trace (lib/trace.ts), the
 * `fastify-flask-errors:error` diagnostics channel, and the reporters (lib/report.ts). The one place
 * that runs once per error response, after the response is decided; previews of error pages tell
 * nobody (they are no error of the app's).
 */
import { channel } from 'node:diagnostics_channel'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Attempt } from './attempt.js'
import { isPreview } from './preview.js'

/** The name of the diagnostics channel the plugin publishes each error response on. */
export const ERROR_CHANNEL = 'fastify-flask-errors:error'

/**
 * One message of the `fastify-flask-errors:error` channel: an error response the plugin made or a
 * handler sent. For APM agents and in-process metrics, without private hooks.
 */
export interface ErrorMessage {
  /**
   * What reporters get: the value thrown, or for a failing handler the 500 made of its failure
   * (`originalError`) and the handled error (`cause`).
   */
  readonly error: unknown
  readonly request: FastifyRequest
  readonly reply: FastifyReply
  /** The status answered. */
  readonly status: number
  /** Whether the error passes `reportWhen` with reporters configured (it is then reported, or counted in a summary of repeats). */
  readonly reported: boolean
  /** The trace id of the request's span, when one is active. */
  readonly traceId: string | undefined
}

/**
 * The channel, made at registration. Node's channels are process-wide by name (so any subscriber, from
 * any copy of the plugin, gets every app's messages) and `hasSubscribers` is a field read, so an app
 * nobody listens to builds no message.
 */
export function errorChannel (): { readonly hasSubscribers: boolean, publish (message: ErrorMessage): void } {
  return channel(ERROR_CHANNEL)
}

/**
 * The response for the attempt's error is going out with `status`: record it on the span, publish it,
 * and hand the error to the reporters — now (`report: 'now'`), or not at all when the caller reports
 * once the response is done (a handler that sent its own reply: lib/respond.ts).
 */
export function announce (attempt: Attempt, status: number, report: 'now' | 'later'): boolean {
  const { request, reply, dispatcher } = attempt
  if (isPreview(request)) return false
  const { tracing, reporting, channel: published } = dispatcher
  const trace = attempt.trace
  if (tracing !== null && trace !== undefined) tracing.record(trace, status, attempt.reported)
  const reported = reporting !== null && reporting.wants(status, attempt.reported, request)
  if (published.hasSubscribers) {
    published.publish({ error: attempt.reported, request, reply, status, reported, traceId: trace?.traceId })
  }
  if (reported && report === 'now') reporting.schedule(attempt.reported, status, request, trace?.traceId)
  return reported
}
