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
  /**
   * Whether the error will reach the reporters (now, or in a summary of repeats): reporters are
   * configured, `reportWhen` takes it and the report budget has room.
   */
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
 * The response for the attempt's error went out (or is on its way) with `status`: record it on the
 * span (unless that was done already, see traceResponse), hand the error to the reporters (they run on
 * a later turn) and publish it on the channel, with whether it is reported.
 */
export function announce (attempt: Attempt, status: number): void {
  const { request, reply, dispatcher } = attempt
  if (isPreview(request)) return
  const { reporting, channel: published } = dispatcher
  traceResponse(attempt, status)
  const reported = reporting !== null && reporting.schedule(attempt.reported, status, request, attempt.traceId)
  if (published.hasSubscribers) {
    published.publish({ error: attempt.reported, request, reply, status, reported, traceId: attempt.traceId })
  }
}

/** Whether announcing has anyone to tell besides the span: reporters, or a subscriber of the channel. */
export function anyoneListens (attempt: Attempt): boolean {
  return attempt.dispatcher.reporting !== null || attempt.dispatcher.channel.hasSubscribers
}

/**
 * Records the response being made on the request's span, once per turn of the attempt (a failure's
 * 500 is a new turn, recorded in its turn). Called right before the response is handed to Fastify's
 * `reply.send` — by our default responses and, through the watched `reply.send`, by a handler's own —
 * because a span may end inside it: `@fastify/otel` ends its request span in an `onSend` hook, which
 * Fastify runs within `send`, and an ended span takes no more attributes, status or events.
 * `announce` calls it too, for a response that went out past `reply.send` (written to `reply.raw`).
 */
export function traceResponse (attempt: Attempt, status: number): void {
  const { tracing } = attempt.dispatcher
  const { trace } = attempt
  if (tracing === null || trace === undefined || attempt.tracedTurn === attempt.turn || isPreview(attempt.request)) return
  attempt.tracedTurn = attempt.turn
  tracing.record(trace, status, attempt.reported)
}
