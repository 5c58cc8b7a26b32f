/**
 * The public type surface: what `fastify-flask-errors` adds to `FastifyInstance` and `FastifyReply`.
 * Tested by `types/index.test-d.ts` (tsd), including what must not compile.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AbortOptions, HTTPExceptionClass } from '../lib/exceptions.js'
import type { Representation } from '../lib/negotiate.js'

/** Any class; an error class is the usual key, but whatever the app throws can have a handler. */
export type ErrorClass<T = unknown> = abstract new (...args: any[]) => T

/** A key for `errorhandler`: an HTTP error status, an error class, or a string error code. */
export type ErrorKey = number | string | ErrorClass

/**
 * What a handler for a status receives: one of our HTTP exceptions, or a foreign error carrying that
 * status (Fastify's validation and body-parse errors, `http-errors`, `@fastify/sensible`).
 */
export type StatusError = import('../lib/exceptions.js').HTTPException | (Error & { statusCode: number, code?: string })

/**
 * What a handler for a string error code receives: an error whose `code` is that string, or whose
 * `cause`'s `code` is (a proxy's or an HTTP client's error wrapping `ECONNREFUSED`), so its own `code`
 * may be another string or absent.
 */
export type CodedError = Error & { code?: string, statusCode?: number }

type Digit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9'

/**
 * Keys that fit `ErrorKey` but that registration refuses, because no thrown value is ever looked up by
 * them: `Object` and the primitive wrappers (thrown primitives have no class chain; they become a 500),
 * a status written as a string (`'404'`: use the number) and a status range (`'4xx'`).
 */
export type NeverMatchedKey =
  | ObjectConstructor | StringConstructor | NumberConstructor | BooleanConstructor | SymbolConstructor | BigIntConstructor
  | `${Digit}${Digit}${Digit}` | `${'4' | '5'}${'xx' | 'XX'}`

/** `K`, or `never` when it is a key registration refuses (the call then does not compile). */
export type CheckedKey<K> = K extends NeverMatchedKey ? never : K

/** The error type a handler for `K` receives. */
export type ErrorFor<K> =
  K extends ErrorClass<infer E> ? E :
    K extends number ? StatusError :
      K extends string ? CodedError : never

/**
 * An error handler, Flask-style. It may send the reply itself, or return: a string (HTML), a plain
 * object or array (JSON), an `HTTPException` (its default response), a tuple `[body, status]`,
 * `[body, headers]`, `[body, status, headers]`, a Buffer or a stream — or a promise of any of them.
 */
export type ErrorHandler<E = unknown> = (this: FastifyInstance, error: E, request: FastifyRequest, reply: FastifyReply) => unknown

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Flask's decorator shape: `app.errorhandler(404)(handler)` registers `handler` in this context
     * and returns it.
     * @example
     * app.errorhandler(404)((error, request, reply) => reply.view('404.ejs'))
     */
    errorhandler: <K extends ErrorKey>(key: CheckedKey<K>) => <H extends ErrorHandler<ErrorFor<K>>>(handler: H) => H
    /**
     * Flask's method: registers `handler` for `key` in this context.
     * @example
     * app.register_error_handler(500, () => ['<h1>Oops</h1>', 500])
     */
    register_error_handler: <K extends ErrorKey>(key: CheckedKey<K>, handler: ErrorHandler<ErrorFor<K>>) => void
    /** camelCase alias of `register_error_handler`. */
    registerErrorHandler: <K extends ErrorKey>(key: CheckedKey<K>, handler: ErrorHandler<ErrorFor<K>>) => void
  }

  interface FastifyReply {
    /**
     * Throws the HTTP exception for `status`, as Flask's `abort`; never returns.
     * @example
     * app.get('/gone', (request, reply) => reply.abort(410))
     */
    abort: (status: number | HTTPExceptionClass, description?: string, options?: AbortOptions) => never
    /**
     * The representation the default error response would take for this request: the `format`
     * option in force for its context (for an unknown URL, the context owning its prefix), then the
     * client's `Accept`. Under `format: 'negotiate'` it adds `Vary: Accept` to the reply, since the
     * answer then depends on that header.
     * @example
     * app.errorhandler(500)((error, request, reply) => reply.errorFormat() === 'html' ? '<h1>Oops</h1>' : error)
     */
    errorFormat: () => Representation
  }
}
