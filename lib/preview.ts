/**
 * The error page preview route (`preview: '/_errors'`), for designers: a page for any status, without
 * breaking the app. Mounted only where debug mode could run (lib/options.ts decides).
 */
import type { FastifyContextConfig, FastifyInstance, FastifyRequest } from 'fastify'
import { NotFound, statusClasses } from './exceptions.js'

/**
 * The route config key that marks the preview route. A preview shows what a real error would answer,
 * but nothing failed: it is never reported (no error mail for a designer looking at a page).
 */
const PREVIEW_CONFIG = 'fastifyFlaskErrorsPreview'
/** The preview route's config: a key of ours, which other plugins' config types do not declare. */
const PREVIEW_ROUTE_CONFIG = { [PREVIEW_CONFIG]: true } as FastifyContextConfig

/** True for requests to a preview route. */
export function isPreview (request: FastifyRequest): boolean {
  return (request.routeOptions.config as unknown as Record<string, unknown>)[PREVIEW_CONFIG] === true
}

/** Three digits, as a status is written: `+410`, `4.1e2` or ` 410` are no preview's status. */
const STATUS_DIGITS = /^\d{3}$/

/** A preview route's `:status`: an HTTP error status that has a class, else undefined. */
function previewStatus (raw: string): number | undefined {
  if (!STATUS_DIGITS.test(raw)) return undefined
  const status = Number(raw)
  return statusClasses.has(status) ? status : undefined
}

/**
 * The preview route (`preview: '/_errors'`): `GET /_errors/410` answers exactly what a `410` thrown
 * in this context answers — handlers, templates, built-in page, negotiation — so a designer can see
 * `errors/410.ejs` without breaking the app. Off by default and refused in production (options.ts).
 */
export function addPreviewRoute (instance: FastifyInstance, path: string): void {
  instance.get<{ Params: { status: string } }>(`${path}/:status`, { config: PREVIEW_ROUTE_CONFIG }, function previewErrorPage (request) {
    const status = previewStatus(request.params.status)
    if (status === undefined) {
      throw new NotFound(`No error page preview for "${request.params.status}": ` +
        `use a status from 400 to 599 that has an error class, e.g. ${path}/404.`)
    }
    const ErrorClass = statusClasses.get(status) as new (description?: string) => Error
    throw new ErrorClass()
  })
}
