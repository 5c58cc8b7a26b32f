/**
 * The public type surface: what `fastify-flask-errors` adds to `FastifyInstance` and `FastifyReply`.
 * Tested by tsd, including what must not compile: types/*.test-d.ts against the ESM declarations,
 * types/cjs.test-d.cts against the CommonJS ones.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AbortOptions, ErrorHeaders, HTTPException, HTTPExceptionClass } from '../lib/exceptions.js'
import type { Representation } from '../lib/negotiate.js'

/** Any class; an error class is the usual key, but whatever the app throws can have a handler. */
export type ErrorClass<T = unknown> = abstract new (...args: any[]) => T

/** A key for `errorhandler`: an HTTP error status, an error class, or a string error code. */
export type ErrorKey = number | string | ErrorClass

/**
 * What a handler for a status receives: one of our HTTP exceptions, or a foreign error carrying that
 * status (Fastify's validation and body-parse errors, `http-errors`, `@fastify/sensible`).
 */
export type StatusError = HTTPException | (Error & { statusCode: number, code?: string })

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
 * A body a handler may return, alone or first in a tuple: a string (sent as `text/html`), a plain
 * object or an array (JSON), a Buffer or a Node stream (sent as is). A plain object is one written as
 * a literal or typed as one (`Record<string, unknown>`): a class instance (a `Date`, a `Map`) is no
 * JSON body at run time, so its type is refused; a value typed by an interface, spread it (`{ ...user }`).
 * A web `ReadableStream` and a bare `Uint8Array` are not sent as they are, so they do not fit either.
 */
export type ResultBody = string | { readonly [key: string]: unknown } | readonly unknown[] | Buffer | NodeJS.ReadableStream

/**
 * An error the handler may return to get its default response (Flask's pass-through): one of our
 * HTTP exceptions, or any error with a 4xx/5xx `statusCode` or `status` (`http-errors`,
 * `@fastify/sensible`, Fastify's own, the error the handler was given when its key is a status).
 */
export type ErrorWithStatus = HTTPException | (Error & { statusCode: number }) | (Error & { status: number })

/**
 * Flask's response tuples: `[body, status]`, `[body, headers]`, `[body, status, headers]`. The status
 * must be a final one (200–599) and the headers a plain object; at run time an array that is not
 * such a tuple is a JSON body.
 */
export type ResultTuple =
  | readonly [body: ResultBody, status: number]
  | readonly [body: ResultBody, headers: ErrorHeaders]
  | readonly [body: ResultBody, status: number, headers: ErrorHeaders]

/**
 * What an error handler may return without a promise: a body, a tuple, an error with a status, the
 * reply (`return reply.send(…)`, `return reply.view(…)`), or nothing after sending the reply itself.
 */
export type SyncHandlerResult = ResultBody | ResultTuple | ErrorWithStatus | FastifyReply | void

/**
 * What an error handler may return: {@link SyncHandlerResult}, or a promise of one (an async
 * handler). Anything else (a number, `null`, a plain `Error` without a status) would fail at run time
 * and become a 500, so it does not compile. Returning nothing compiles too, since TypeScript cannot
 * tell whether the handler sent the reply; at run time a handler that neither sends nor returns a
 * response fails the same way.
 */
export type HandlerResult = SyncHandlerResult | PromiseLike<SyncHandlerResult>

/**
 * An error handler, Flask-style: `this` is the registering context, `error` what it is registered
 * for ({@link ErrorFor}). The one signature `errorhandler`, `register_error_handler` and
 * `registerErrorHandler` take; it may be sync or async.
 */
export type ErrorHandler<E = unknown> = (this: FastifyInstance, error: E, request: FastifyRequest, reply: FastifyReply) => HandlerResult

/** `register_error_handler` and `registerErrorHandler`: registers `handler` for `key` in this context. */
export type RegisterErrorHandler = <K extends ErrorKey>(key: CheckedKey<K>, handler: ErrorHandler<ErrorFor<K>>) => void

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
    register_error_handler: RegisterErrorHandler
    /** camelCase alias of `register_error_handler`. */
    registerErrorHandler: RegisterErrorHandler
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
