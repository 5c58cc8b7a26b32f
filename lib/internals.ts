/**
 * The one place the plugin reads private state — Fastify's, and @fastify/view's — and why it must.
 *
 * Fastify's `handleError` (lib/error-handler.js) remembers, per reply, which error handler a *second*
 * error on that reply goes to: the parent of the one that just ran (its prototype). It runs the
 * `onError` hooks only while that pointer is unset. So after our handler ran once, an error raised
 * while answering — a handler's `reply.send(err)`, a `reply.view` that fails, an `onSend` hook that
 * throws on our response — would go to the *parent* handler (Fastify's default, which shows a 500's
 * message; or an app's own `setErrorHandler` placed in front of ours, which would then run twice).
 * Pointing it back at our own handler keeps both of Fastify's promises: `onError` hooks run once per
 * request, and every error handler runs at most once, while the second error still becomes a handler
 * failure answered with a sound 500.
 *
 * Both facts are Fastify 5's (lib/symbols.js, lib/error-handler.js). test/internals.test.ts checks them
 * on the installed Fastify and fails loudly when a release moves them; until then nothing here branches
 * on their presence (a missing symbol would only leave a second error to Fastify, as without this file).
 *
 * The second fact is @fastify/view's: where its root and file extension are (see `findViewRoot`), so
 * that which error page templates exist can be found once, at startup. The same test file checks it.
 */
import { sep } from 'node:path'
import type { FastifyInstance, FastifyReply } from 'fastify'

/** What the plugin needs from Fastify's private state, found once per registered app. */
export interface FastifyInternals {
  /** Makes the next error on `reply` come back to the plugin's error handler (see the module comment). */
  keepErrorHandler (reply: FastifyReply): void
}

/** The description Fastify gives its instance's error-handler symbol (lib/symbols.js). */
const ERROR_HANDLER = 'fastify.errorHandler'
/** The description of the per-reply "next error handler" symbol (lib/symbols.js). */
const NEXT_ERROR_HANDLER = 'fastify.reply.nextErrorHandler'

/** The own symbol of `target` with this description (undefined only if Fastify renamed it). */
function symbolOf (target: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(target).find((symbol) => symbol.description === description)
}

/** Reads, right after the plugin called `instance.setErrorHandler`, the handler object Fastify built for it. */
export function fastifyInternals (instance: FastifyInstance): FastifyInternals {
  const ours = (instance as unknown as Record<symbol, unknown>)[symbolOf(instance, ERROR_HANDLER) as symbol]
  let next: symbol | undefined
  return {
    keepErrorHandler (reply) {
      // Fastify sets the pointer just before it calls an error handler, so the symbol is on this reply.
      next ??= symbolOf(reply, NEXT_ERROR_HANDLER) as symbol
      ;(reply as unknown as Record<symbol, unknown>)[next] = ours
    }
  }
}

/** The view root and the engine's file extension, as `@fastify/view` resolves them. */
export interface ViewRoot {
  readonly dir: string
  readonly ext: string
}

/** `fastify.view` / `reply.viewAsync` as the plugin calls them. */
export type ViewFunction = (page: string, data?: object) => Promise<unknown>

const PROBE = '__fastify_flask_errors_probe__'

/**
 * `@fastify/view` keeps its root and extension in a closure and exposes neither. It does say where it
 * looked when a page is missing: rendering a page that cannot exist fails with Node's ENOENT error,
 * whose `path` is `<root>/<page><extension>` — the same join the real pages go through. That works
 * for the engines that read files themselves (ejs, handlebars, mustache, squirrelly); for the others
 * the root stays unknown and templates are off (loudly, if the app asked for them).
 */
export async function findViewRoot (view: ViewFunction): Promise<ViewRoot | undefined> {
  try {
    await view(`${PROBE}/${PROBE}`)
  } catch (error) {
    return rootFromMissingPage(error)
  }
  // The probe page rendered: this `view` is not @fastify/view reading files under a root.
  return undefined
}

function rootFromMissingPage (error: unknown): ViewRoot | undefined {
  const { code, path } = (error ?? {}) as { code?: unknown, path?: unknown }
  if (code !== 'ENOENT' || typeof path !== 'string') return undefined
  const marker = `${PROBE}${sep}${PROBE}`
  const at = path.lastIndexOf(marker)
  if (at === -1) return undefined
  return { dir: path.slice(0, at), ext: path.slice(at + marker.length) }
}
