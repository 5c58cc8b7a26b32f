/**
 * The public type surface: what `fastify-flask-errors` adds to `FastifyInstance` and `FastifyReply`.
 * Tested by `types/index.test-d.ts` (tsd), including what must not compile.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AbortOptions, HTTPExceptionClass } from '../lib/exceptions.js'

/** Any class; an error class is the usual key, but whatever the app throws can have a handler. */
export type ErrorClass<T = unknown> = abstract new (...args: any[]) => T

/** A key for `errorhandler`: an HTTP error status, an error class, or a string error code. */
export type ErrorKey = number | string | ErrorClass

/**
 * What a handler for a status receives: one of our HTTP exceptions, or a foreign error carrying that
 * status (Fastify's validation and body-parse errors, `http-errors`, `@fastify/sensible`).
 */
export type StatusError = import('../lib/exceptions.js').HTTPException | (Error & { statusCode: number, code?: string })

/** What a handler for a string error code receives: an error whose `code` is that string. */
export type CodedError = Error & { code: string, statusCode?: number }

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
    errorhandler: <K extends ErrorKey>(key: K) => <H extends ErrorHandler<ErrorFor<K>>>(handler: H) => H
    /**
     * Flask's method: registers `handler` for `key` in this context.
     * @example
     * app.register_error_handler(500, () => ['<h1>Oops</h1>', 500])
     */
    register_error_handler: <K extends ErrorKey>(key: K, handler: ErrorHandler<ErrorFor<K>>) => void
    /** camelCase alias of `register_error_handler`. */
    registerErrorHandler: <K extends ErrorKey>(key: K, handler: ErrorHandler<ErrorFor<K>>) => void
  }

  interface FastifyReply {
    /**
     * Throws the HTTP exception for `status`, as Flask's `abort`; never returns.
     * @example
     * app.get('/gone', (request, reply) => reply.abort(410))
     */
    abort: (status: number | HTTPExceptionClass, description?: string, options?: AbortOptions) => never
  }
}
