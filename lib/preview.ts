/**
 * The error page preview route (`preview: '/_errors'`), for designers: a page for any status, without
 * breaking the app. Mounted only where debug mode could run (lib/options.ts decides).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { NotFound, statusClasses } from './exceptions.js'

/**
 * Marks the request whose error the preview route throws. A preview shows what a real error would
 * answer, but nothing failed: it is never reported, traced or published (no error mail for a designer
 * looking at a page). A mark on the request rather than a look at its route's config: Fastify's
 * `request.routeOptions` is a getter that builds a dozen-field object on every read, once per error
 * response of every request.
 */
const kPreview = Symbol('fastify-flask-errors.preview')

/** A request as the preview route marks it. */
type Marked = FastifyRequest & { [kPreview]?: true }

/** True for the error of a preview route's request. */
export function isPreview (request: FastifyRequest): boolean {
  return (request as Marked)[kPreview] === true
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
  instance.get<{ Params: { status: string } }>(`${path}/:status`, function previewErrorPage (request) {
    (request as Marked)[kPreview] = true
    const status = previewStatus(request.params.status)
    if (status === undefined) {
      throw new NotFound(`No error page preview for "${request.params.status}": ` +
        `use a status from 400 to 599 that has an error class, e.g. ${path}/404.`)
    }
    const ErrorClass = statusClasses.get(status) as new (description?: string) => Error
    throw new ErrorClass()
  })
}
