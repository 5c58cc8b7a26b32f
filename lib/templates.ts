/**
 * Error page templates by convention, for HTML clients: with `@fastify/view` registered, the page for
 * a status is the first template that exists of `<folder>/<status>`, `<folder>/<4xx|5xx>`,
 * `<folder>/error` under the view root — Flask's `404.html` / `500.html`, found without a handler.
 *
 * Which templates exist is found once, when the app gets ready: at request time the page is a map
 * read, never a file-system call. Rendering goes through `reply.viewAsync`, never `reply.view`
 * (which sends its own errors, a JSON 500 that shows file paths), and any failure — a template
 * deleted since startup, one that throws, one that never finishes — is the caller's to answer with
 * the built-in page.
 */
import { readdirSync } from 'node:fs'
import { resolve } from 'node:path'
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify'
import { DeadlineWatch } from './deadlines.js'
import { findViewRoot } from './internals.js'
import type { ViewFunction, ViewRoot } from './internals.js'
import { FFE_TEMPLATES_NOT_FOUND } from './errors.js'
import type { ContextOptions } from './options.js'
import type { ErrorView } from './pages.js'
import type { Registry } from './registry.js'

// The preview route's home, as lib/respond.ts imports it from here.

/** The templates found in one folder: page names as `reply.viewAsync` takes them. */
export interface TemplateSet {
  /** `<folder>/<status>` pages by status. */
  readonly exact: ReadonlyMap<number, string>
  /** `<folder>/4xx`. */
  readonly client: string | undefined
  /** `<folder>/5xx`. */
  readonly server: string | undefined
  /** `<folder>/error`. */
  readonly generic: string | undefined
}

/** The page for `status` in `set`: exact, then the series (`4xx`/`5xx`), then the generic one, as the README lists them. */
export function templateFor (set: TemplateSet, status: number): string | undefined {
  return set.exact.get(status) ?? (status >= 500 ? set.server : set.client) ?? set.generic
}

const STATUS_FILE = /^[45]\d\d$/

/** Reads one folder once: its templates, or a sentence saying why it cannot be read. */
function scanFolder (root: ViewRoot, folder: string): TemplateSet | string {
  const dir = resolve(root.dir, folder)
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch (error) {
    return `the folder "${folder}" cannot be read under the view root ${resolve(root.dir)} (${(error as Error).message})`
  }
  const exact = new Map<number, string>()
  const named = new Map<string, string>()
  for (const entry of entries) {
    if ((!entry.isFile() && !entry.isSymbolicLink()) || !entry.name.endsWith(root.ext)) continue
    const base = entry.name.slice(0, entry.name.length - root.ext.length)
    const page = `${folder}/${entry.name}`
    if (STATUS_FILE.test(base)) exact.set(Number(base), page)
    else named.set(base, page)
  }
  return { exact, client: named.get('4xx'), server: named.get('5xx'), generic: named.get('error') }
}

/** The folder in force in a context, and the context whose options named it (if any did). */
interface FolderChoice {
  readonly folder: string | false
  readonly namedBy: FastifyInstance | undefined
}

function folderOf (registry: Registry<ContextOptions>, instance: FastifyInstance): FolderChoice {
  const { chain, options } = registry.resolve(instance)
  return { folder: options.templates, namedBy: chain.find((scope) => scope.options.templates !== undefined)?.instance }
}

function contextName (instance: FastifyInstance): string {
  return instance.prefix === '' ? 'the root context' : `the context with prefix "${instance.prefix}"`
}

/** A folder that `namedBy` set cannot be used, and why: the app must not start without its pages. */
function unusable (folder: string, namedBy: FastifyInstance, why: string): Error {
  return new FFE_TEMPLATES_NOT_FOUND(`templates: "${folder}" is set for ${contextName(namedBy)}, but ${why}`)
}

/**
 * The templates of every context of one app, and its renders in flight. Contexts are tracked as they
 * are created (an `onRegister` hook) and read when the app gets ready (an `onReady` hook); requests
 * only read.
 */
export class Templates {
  readonly #contexts: FastifyInstance[] = []
  readonly #sets = new WeakMap<object, TemplateSet>()
  /** This app's renders in flight, cut off at its limit: one app's slow templates are not another's. */
  readonly #renders: DeadlineWatch

  /**
   * `timeoutMs`: how long one of the app's templates may take to render (the `templateTimeout`
   * option, whose default is in the option table): an `async: true` template can await anything, and
   * an error page must not hang.
   */
  constructor (timeoutMs: number) {
    this.#renders = new DeadlineWatch(timeoutMs)
  }

  /** Remembers a context; its templates are found by `discover`. */
  track (instance: FastifyInstance): void {
    this.#contexts.push(instance)
  }

  /** The page for `status` in the context `instance`, or undefined for the built-in page. */
  find (instance: FastifyInstance, status: number): string | undefined {
    const set = this.#sets.get(instance)
    return set === undefined ? undefined : templateFor(set, status)
  }

  /**
   * Renders `page` to a string through `reply.viewAsync` (so `defaultContext`, `reply.locals` and the
   * view plugin's layout apply), then calls `done` once: with the HTML, or with `undefined` and the
   * failure when the template is missing, throws, renders something that is not a string, or takes
   * longer than the app's limit. A callback, not a promise: no promise per error page beyond the one
   * the view plugin makes.
   */
  render (reply: FastifyReply, page: string, context: TemplateContext, done: RenderDone): void {
    renderWithin(this.#renders, reply, page, context, done)
  }

  /**
   * Finds, for every tracked context, the templates of the folder in force there. A folder the app
   * named itself must exist (and the view plugin must be there to render it): otherwise this throws
   * `FFE_TEMPLATES_NOT_FOUND`, and the app does not start. The default folder is simply optional.
   */
  async discover (registry: Registry<ContextOptions>, log: FastifyBaseLogger): Promise<void> {
    const roots = new Map<ViewFunction, Promise<ViewRoot | undefined>>()
    const scans = new Map<string, TemplateSet | string>()
    const named = new Set<FastifyInstance>()
    const served = new Set<FastifyInstance>()
    for (const instance of this.#contexts) {
      const { folder, namedBy } = folderOf(registry, instance)
      if (namedBy !== undefined) named.add(namedBy)
      const view = (instance as unknown as { view?: unknown }).view
      if (folder === false || typeof view !== 'function') continue
      let rooted = roots.get(view as ViewFunction)
      if (rooted === undefined) {
        rooted = findViewRoot(view as ViewFunction)
        roots.set(view as ViewFunction, rooted)
      }
      const root = await rooted
      if (root === undefined) {
        const why = 'the view root of @fastify/view could not be found ' +
          '(templates work with the ejs, handlebars, mustache and squirrelly engines)'
        if (namedBy !== undefined) throw unusable(folder, namedBy, why)
        log.warn(`fastify-flask-errors: error page templates are off in ${contextName(instance)}: ${why}; ` +
          'set templates: false to silence this')
        continue
      }
      const key = `${root.dir}\0${root.ext}\0${folder}`
      let scan = scans.get(key)
      if (scan === undefined) {
        scan = scanFolder(root, folder)
        scans.set(key, scan)
      }
      if (typeof scan === 'string') {
        if (namedBy !== undefined) throw unusable(folder, namedBy, scan)
        continue
      }
      if (namedBy !== undefined) served.add(namedBy)
      this.#sets.set(instance, scan)
    }
    for (const instance of named) {
      const { folder } = folderOf(registry, instance)
      if (folder !== false && !served.has(instance)) {
        throw unusable(folder, instance, '@fastify/view is not registered there: ' +
          'register it (in that context or above) before the app is ready, or remove the option')
      }
    }
  }
}

/** What a template receives, on top of `defaultContext` and `reply.locals`. */
export interface TemplateContext {
  /** The error being answered (for a hidden 5xx, the `InternalServerError` that wraps the crash). */
  readonly error: unknown
  readonly status: number
  /** The reason phrase. */
  readonly name: string
  /** The text safe to show: the error's own for 4xx, the generic one for hidden 5xx. */
  readonly description: string
  /** The request path, without the query string. */
  readonly path: string
  /** The request id, the reference the log line carries. */
  readonly requestId: string
  /** The trace id of the request's OpenTelemetry span, when one is active (else undefined). */
  readonly traceId: string | undefined
  /** Whether the context is in debug mode. */
  readonly debug: boolean
}

/** The data a template is rendered with. */
export function templateContext (error: unknown, view: ErrorView, debug: boolean): TemplateContext {
  const { status, name, message: description, path, requestId, traceId } = view
  return { error, status, name, description, path, requestId, traceId, debug }
}

/** Called once per render: with the HTML, or with `undefined` and why there is none. */
export type RenderDone = (html: string | undefined, failure?: unknown) => void

/** Renders `page` as {@link Templates.render} says, cut off by `renders`. */
function renderWithin (renders: DeadlineWatch, reply: FastifyReply, page: string, context: TemplateContext, done: RenderDone): void {
  const viewAsync = (reply as unknown as { viewAsync?: unknown }).viewAsync
  if (typeof viewAsync !== 'function') {
    done(undefined, new TypeError('reply.viewAsync is not a function: @fastify/view is not registered in this context'))
    return
  }
  // Told once: a render that finishes after it was cut off (or is cut off after it finished) is told nothing.
  const deadline = renders.watch(() => { done(undefined, new Error(`template ${page} did not render within ${renders.limitMs} ms`)) })
  const settle = (html: string | undefined, failure?: unknown): void => { if (renders.release(deadline)) done(html, failure) }
  let rendering: unknown
  try {
    rendering = (viewAsync as ViewFunction).call(reply, page, context)
  } catch (failure) {
    settle(undefined, failure)
    return
  }
  Promise.resolve(rendering).then((html) => {
    if (typeof html === 'string') settle(html)
    else settle(undefined, new TypeError(`template ${page} rendered ${html === null ? 'null' : typeof html}, not a string`))
  }, (failure: unknown) => { settle(undefined, failure) })
}
