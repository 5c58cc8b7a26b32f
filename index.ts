/**
 * fastify-flask-errors: Flask's error handling for Fastify 5.
 *
 * This file only wires: options are validated, tables built and Fastify's handlers installed at
 * registration (lib/*.ts does the work); nothing here runs on a successful request.
 *
 * @example
 * await app.register(flaskErrors)
 * app.errorhandler(404)((error, request, reply) => reply.view('404.ejs'))
 * app.get('/gone', (request, reply) => reply.abort(410))
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { kAttempt } from './lib/attempt.js'
import type { Dispatcher } from './lib/attempt.js'
import { dispatch, dispatchRoutingMiss } from './lib/dispatch.js'
import { fastifyInternals } from './lib/internals.js'
import { DebugMode } from './lib/debug.js'
import { SourceFiles } from './lib/sources.js'
import { DEFAULTS, LAYERING, normalizeOptions } from './lib/options.js'
import type { ContextOptions, FlaskErrorsOptions, Registration } from './lib/options.js'
import { Registry, addHandler, normalizeKey, refuseSecondArgument } from './lib/registry.js'
import { Negotiation } from './lib/negotiate.js'
import { DefaultBodies } from './lib/pages.js'
import { appendVary } from './lib/headers.js'
import type { Representation } from './lib/negotiate.js'
import { createReporting } from './lib/report.js'
import { createRedaction } from './lib/redact.js'
import { addErrorSchemas } from './lib/schemas.js'
import { MethodIndex, PrefixOwners } from './lib/routing.js'
import { Templates } from './lib/templates.js'
import { loadTracing } from './lib/trace.js'
import { errorChannel } from './lib/outcome.js'
import { addPreviewRoute } from './lib/preview.js'
import type { NotFoundHandler } from './lib/routing.js'
import type { ErrorHandler, ErrorKey } from './types/augment.js'

/** Everything one registered app needs, found from any of its contexts. */
interface PluginState {
  readonly dispatcher: Dispatcher
  readonly owners: PrefixOwners
  readonly notFound: NotFoundHandler
  readonly debugMode: DebugMode
}

/** App root instance → its state. Child contexts find it through their prototype chain. */
const states = new WeakMap<object, PluginState>()

function stateOf (instance: object): PluginState | undefined {
  for (let object: object | null = instance; object !== null; object = Object.getPrototypeOf(object) as object | null) {
    const state = states.get(object)
    if (state !== undefined) return state
  }
  return undefined
}

const plugin: FastifyPluginAsync<FlaskErrorsOptions> = async function flaskErrors (fastify, options) {
  const outer = stateOf(fastify)
  // Registered again inside a context: that context's own options (Flask's blueprints have their own handlers).
  const given = normalizeOptions(options as Record<string, unknown>, { first: outer === undefined, log: fastify.log })
  if (outer !== undefined) {
    configureContext(outer.dispatcher.registry, outer.debugMode, fastify, given)
    if (given.notFoundHooks !== undefined) outer.owners.setHooks(fastify, given.notFoundHooks)
    // A prefixed context's options (an `/api` that always answers JSON or problem+json)
    // cover its routing 404/405s too, so the context owns them as if it had a 404/405 handler.
    if (fastify.prefix !== '') outer.owners.claim(fastify, outer.notFound, 'flaskErrors options')
    return
  }
  const registry = new Registry<ContextOptions>(DEFAULTS, LAYERING)
  const debugMode = new DebugMode(registry)
  configureContext(registry, debugMode, fastify, given)
  const redaction = createRedaction(given.app.redact)
  const reporting = createReporting(given.app, fastify.log, redaction)
  const templates = new Templates(given.app.templateTimeout)
  const tracing = await loadTracing(given.app.openTelemetry, (message) => { fastify.log.warn(message) })
  fastify.setErrorHandler(function flaskErrorHandler (error: unknown, request: FastifyRequest, reply: FastifyReply) {
    dispatch(dispatcher, request.server, error, request, reply)
  })
  // The app's own caches (Accept decisions, default bodies): made here, dropped with the app.
  const dispatcher: Dispatcher = {
    registry,
    reporting,
    templates,
    internals: fastifyInternals(fastify),
    redaction,
    sources: new SourceFiles(process.cwd()),
    negotiation: new Negotiation(),
    bodies: new DefaultBodies(),
    tracing,
    channel: errorChannel()
  }
  const methods = new MethodIndex(fastify.supportedMethods)
  const owners = new PrefixOwners()
  if (given.notFoundHooks !== undefined) owners.setHooks(fastify, given.notFoundHooks)
  const notFound: NotFoundHandler = function (request, reply) {
    dispatchRoutingMiss(dispatcher, request.server, methods, request, reply)
  }
  states.set(fastify, { dispatcher, owners, notFound, debugMode })

  fastify.addHook('onRoute', (route) => { methods.route(route) })
  fastify.addHook('onReady', async () => {
    owners.ready = true
    methods.findRootCatchAlls(fastify)
  })
  // Error page templates: every context is remembered as it is created, and which templates each one
  // has is found once, when the app gets ready: registration-time work, never per request.
  templates.track(fastify)
  fastify.addHook('onRegister', (instance) => { templates.track(instance) })
  fastify.addHook('onReady', async () => { await templates.discover(registry, fastify.log) })
  if (reporting !== null) fastify.addHook('onClose', async () => { await reporting.flush() })
  // Schemas of the error bodies, for routes' 4xx/5xx response schemas and generated API docs.
  addErrorSchemas(fastify)
  owners.install(fastify, notFound)

  fastify.decorate('errorhandler', function errorhandler (this: FastifyInstance, key: ErrorKey, ...extra: unknown[]) {
    // Flask's habit from JavaScript, `app.errorhandler(404, fn)`: fn would never be registered.
    if (extra.length > 0) refuseSecondArgument(key)
    const normalized = normalizeKey(key)
    return <H>(handler: H): H => {
      register(this, normalized, handler)
      return handler
    }
  })
  // Flask's method, and its camelCase alias: one function under both names.
  const registerErrorHandler = function registerErrorHandler (this: FastifyInstance, key: ErrorKey, handler: ErrorHandler<any>): void {
    register(this, normalizeKey(key), handler)
  }
  fastify.decorate('register_error_handler', registerErrorHandler)
  fastify.decorate('registerErrorHandler', registerErrorHandler)
  debugMode.decorateRoot(fastify)
  fastify.decorateReply('errorFormat', errorFormat)
  fastify.decorateReply(kAttempt, null)
}

/**
 * `reply.errorFormat()`: the representation the default error response would take for this request,
 * from the `format` option in force for its context, then the client's Accept.
 */
function errorFormat (this: FastifyReply): Representation {
  const { request } = this
  const { dispatcher, owners } = stateOf(request.server) as PluginState
  // A routing miss (or a framework error) belongs to the context that owns the URL's prefix, as
  // the default response does; any other request to its route's context.
  const instance = request.is404 ? owners.ownerOf(request.url, request.server) : request.server
  const policy = dispatcher.registry.resolve(instance).options.format
  // The handler's answer now depends on Accept, so caches must key on it (RFC 9110 §12.5.5).
  if (policy === 'negotiate') appendVary(this, 'Accept')
  return dispatcher.negotiation.choose(request.headers.accept, policy)
}

/**
 * Applies one registration's options to its context: the context options, the preview route, and
 * debug mode: announced in the log as Flask announces its debugger, and the context's `reply.abort`
 * captures stacks (the debug page shows where an abort came from).
 */
function configureContext (registry: Registry<ContextOptions>, debugMode: DebugMode, instance: FastifyInstance, given: Registration): void {
  registry.configure(instance, given.context)
  if (given.context.debug === true) debugMode.turnOn(instance)
  if (given.preview !== undefined) addPreviewRoute(instance, given.preview)
}

/**
 * Stores a handler in `instance`'s scope; a 404/405 handler in a prefixed context claims its prefix, one
 * in a child context without a prefix gets a startup warning (it can own no routing errors).
 */
function register (instance: FastifyInstance, key: ReturnType<typeof normalizeKey>, handler: unknown): void {
  const state = stateOf(instance) as PluginState
  const entry = addHandler(state.dispatcher.registry.scope(instance), key, handler)
  if (key.kind === 'status' && (key.status === 404 || key.status === 405)) {
    if (instance.prefix !== '') state.owners.claim(instance, state.notFound, entry.label)
    else state.owners.warnUnowned(instance, entry.label)
  }
}

/**
 * Routes Fastify's framework errors (malformed URLs → 400, over-long parameters → 414), which never
 * reach an error handler, into the plugin's handlers, as the context owning the URL's prefix would
 * answer them (an `/api` that always answers JSON does so here too). Pass it as the factory option.
 * @example
 * const app = Fastify({ frameworkErrors })
 */
export function frameworkErrors (error: Error, request: FastifyRequest, reply: FastifyReply): void {
  const state = stateOf(request.server)
  if (state === undefined) {
    // The plugin is not registered in this app: leave the error to Fastify's own handling.
    reply.send(error)
    return
  }
  // Fastify makes the reply of a framework error from its base class, without the app's reply
  // decorators: a handler that asks for the format must still get an answer, not a TypeError.
  Object.defineProperty(reply, 'errorFormat', { value: errorFormat })
  // No route matched yet: the context that owns the URL's prefix answers, with its options.
  dispatch(state.dispatcher, state.owners.ownerOf(request.url, request.server), error, request, reply)
}

/**
 * The plugin. Register it once at the root; register it again inside a context to give that context
 * its own options (`format`, `debug`, `logLevel`, …).
 */
const flaskErrors = fp(plugin, { fastify: '5.x', name: 'fastify-flask-errors' })
export default flaskErrors
export { flaskErrors }

// The public surface, name by name: what the README tells a user to use. Internals (the status table,
// stack capture, the dispatcher) stay in lib/, where the unit tests import them.
export {
  HTTPException, BadRequest, Unauthorized, PaymentRequired, Forbidden, NotFound, MethodNotAllowed, NotAcceptable,
  ProxyAuthenticationRequired, RequestTimeout, Conflict, Gone, LengthRequired, PreconditionFailed, RequestEntityTooLarge,
  RequestURITooLarge, UnsupportedMediaType, RequestedRangeNotSatisfiable, ExpectationFailed, ImATeapot, MisdirectedRequest,
  UnprocessableEntity, Locked, FailedDependency, TooEarly, UpgradeRequired, PreconditionRequired, TooManyRequests,
  RequestHeaderFieldsTooLarge, UnavailableForLegalReasons, InternalServerError, NotImplemented, BadGateway,
  ServiceUnavailable, GatewayTimeout, HTTPVersionNotSupported, VariantAlsoNegotiates, InsufficientStorage, LoopDetected,
  NotExtended, NetworkAuthenticationRequired, RangeNotSatisfiable, ContentTooLarge, URITooLong, abort
} from './lib/exceptions.js'
export type {
  AbortOptions, ErrorHeaders, HTTPExceptionClass, HTTPExceptionOptions, InternalServerErrorOptions, MethodNotAllowedOptions,
  RangeNotSatisfiableOptions, RetryAfterOptions, UnauthorizedOptions
} from './lib/exceptions.js'
export { escapeHtml } from './lib/pages.js'
export { ERROR_SCHEMA_ID, PROBLEM_SCHEMA_ID, errorResponses, errorSchema, problemSchema } from './lib/schemas.js'
export type { ErrorResponseSchema, ErrorResponsesOptions } from './lib/schemas.js'
export { PROBLEM_CONTENT_TYPE } from './lib/problem.js'
export type { ProblemDetails, ProblemFieldError } from './lib/problem.js'
export { ErrorSnapshot } from './lib/report-identity.js'
export type { ErrorReport, Reporter, ReportOptions } from './lib/report.js'
export type { RequestSummary } from './lib/report-request.js'
// The plugin's errors; the mail codes are exported by `fastify-flask-errors/mail`, beside what raises them.
export {
  FFE_BAD_REPORTER, FFE_BAD_REPORT_OPTION, FFE_BAD_REPORT_WHEN, FFE_DECORATOR_TAKES_KEY_ONLY, FFE_INVALID_HANDLER, FFE_INVALID_KEY,
  FFE_INVALID_OPTION, FFE_NOT_FOUND_HANDLER_TAKEN, FFE_ROUTING_CLAIM_TOO_LATE, FFE_TEMPLATES_NOT_FOUND
} from './lib/errors.js'
export type { TemplateContext } from './lib/templates.js'
export { ERROR_CHANNEL } from './lib/outcome.js'
export type { ErrorMessage } from './lib/outcome.js'
export type { FlaskErrorsOptions, NotFoundHooks } from './lib/options.js'
export type { LogLevelTable } from './lib/log-levels.js'
export type { FormatPolicy, Representation } from './lib/negotiate.js'
export type { RedactOptions } from './lib/redact.js'
export type {
  CodedError, ErrorClass, ErrorFor, ErrorHandler, ErrorKey, ErrorWithStatus, HandlerResult, RegisterErrorHandler, ResultBody,
  ResultTuple, StatusError, SyncHandlerResult
} from './types/augment.js'
