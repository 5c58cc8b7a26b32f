/**
 * Debug mode (`debug: true`), as one registration turns it on for its context: Flask's "Debugger is
 * active!" in the startup log, and stacks for the HTTP exceptions `reply.abort` makes there, so that
 * the debug page shows where an abort came from. What the page shows is built in debug-report.ts
 * (from the app's files, read by sources.ts) and rendered by debug-page.ts, or as JSON here.
 *
 * Only ever used where the context is in debug mode, which options.ts allows only where NODE_ENV is
 * unset, `development` or `test`, unless forced.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify'
import { HTTPException, abort } from './exceptions.js'
import type { AbortOptions, HTTPExceptionClass } from './exceptions.js'
import type { DebugReport } from './debug-report.js'
import { bareFields, errorJson } from './pages.js'
import type { ContextOptions } from './options.js'
import type { Registry } from './registry.js'

/**
 * Flask's "Debugger is active!": logged once by each registration that turns debug mode on, so that a
 * debug page reachable where it should not be is at least in the startup log.
 */
export function warnDebugActive (log: FastifyBaseLogger, prefix: string): void {
  log.warn(`Debugger is active! fastify-flask-errors debug mode is on for ${prefix === '' ? 'the whole app' : `"${prefix}"`}: ` +
    '5xx responses show the error, its stack with the source lines of the app\'s files, and the request. ' +
    'Never run it where the public can reach the server.')
}

/** `reply.abort`: `abort` called on a reply. */
export type ReplyAbort = (this: FastifyReply, status: number | HTTPExceptionClass, description?: string, options?: AbortOptions) => never

/**
 * Debug mode of one app. HTTP exceptions are made without a stack (an abort is control flow, and
 * capturing a stack is most of the cost of throwing one). `reply.abort` knows its app and context
 * (the reply's), so in the contexts where a registration turned debug mode on, replies get an `abort`
 * that captures the stack of its call, when the context it is called in is in debug mode (a child
 * registered with `debug: false` inherits the decorator, and the check). Contexts without debug keep
 * the plain `abort`: their cost is the same as with no debug mode anywhere in the process. A bare
 * `abort()` or `new NotFound()` cannot know its app, and has no stack in any app.
 */
export class DebugMode {
  /** Contexts whose replies got the stack-capturing `abort` (a context is decorated once). */
  readonly #decorated = new WeakSet<object>()
  readonly #abort: ReplyAbort

  constructor (registry: Registry<ContextOptions>) {
    this.#abort = function abortWithStack (this: FastifyReply, status, description, options): never {
      try {
        abort(status, description, options)
      } catch (error) {
        // `abort` always throws: caught only to give the exception the stack of this call (frames
        // from the caller of `reply.abort` on), then thrown on as it is. A TypeError for a status
        // without a class has its own stack already.
        if (error instanceof HTTPException && registry.resolve(this.request.server).options.debug) {
          Error.captureStackTrace(error, abortWithStack)
        }
        throw error
      }
    }
  }

  /** One registration turned debug mode on in `instance`: it is announced, and its replies capture stacks. */
  turnOn (instance: FastifyInstance): void {
    warnDebugActive(instance.log, instance.prefix)
    if (this.#decorated.has(instance)) return
    this.#decorated.add(instance)
    instance.decorateReply('abort', this.#abort)
  }

  /** Gives the app's replies `reply.abort`: the plain `abort`, unless the root registration turned debug mode on. */
  decorateRoot (root: FastifyInstance): void {
    if (!this.#decorated.has(root)) root.decorateReply('abort', abort)
  }
}

/**
 * The debug JSON: the default JSON body (one writer, lib/pages.ts), with the real message (this is
 * debug mode), and a `debug` member with the chain and the request.
 */
export function debugJson (report: DebugReport): string {
  const first = report.errors[0]
  return errorJson(bareFields(report.status, report.name, first.message, report.requestId, report.traceId), {
    errors: report.errors.map((e) => ({
      relation: e.relation,
      type: e.type,
      message: e.message,
      code: e.code,
      frames: e.frames.map((f) => ({ fn: f.fn, file: f.file, line: f.line, column: f.column, app: f.app }))
    })),
    request: report.request
  })
}
