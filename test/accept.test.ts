/**
 * lib/negotiate.ts (negotiator underneath): which family (HTML or JSON) an Accept header prefers — a table of real, edge and
 * malformed headers — and the same table end to end: every value answers a sound error response
 * (never a 406, never a 500 from the negotiation itself), HTML or JSON as the table says.
 */
import t from 'tap'
import { Negotiation } from '../lib/negotiate.js'
import type { Representation as Family } from '../lib/negotiate.js'

const negotiation = new Negotiation()
const preferredFamily = (accept: string): Family => negotiation.choose(accept, 'negotiate')
import flaskErrors from '../index.js'
import { build } from './helpers.js'

const CHROME = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7'
const FIREFOX_IMAGE = 'image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5'
const JQUERY = 'application/json, text/javascript, */*; q=0.01'

/** [Accept, family, why]. */
const TABLE: ReadonlyArray<readonly [string, Family, string]> = [
  // Real clients.
  [CHROME, 'html', 'Chrome navigation'],
  [FIREFOX_IMAGE, 'json', 'an <img> request: only */* matches either, so the tie goes to JSON'],
  [JQUERY, 'json', 'jQuery getJSON'],
  ['*/*', 'json', 'no preference'],
  // RFC 9457 and JSON dialects.
  ['application/problem+json', 'json', 'problem details'],
  ['application/problem+json, text/html;q=0.9', 'json', 'problem+json named above HTML'],
  ['text/html;q=0.5, application/problem+json', 'json', 'problem+json preferred by q, listed second'],
  ['application/problem+json;q=0.4, text/html;q=0.5', 'html', 'HTML preferred by q over problem+json'],
  ['application/vnd.api+json', 'json', 'a vendor JSON type (JSON:API)'],
  ['application/vnd.api+json, text/html;q=0.9', 'json', 'a vendor JSON type named above HTML'],
  ['application/hal+json;q=0.9, text/html;q=0.8', 'json', 'HAL above HTML by q'],
  ['application/ld+json;q=0.1, text/html', 'html', 'JSON-LD below HTML'],
  ['application/vnd.api+json;q=0, text/html;q=0.1', 'html', 'a vendor type refused with q=0'],
  ['application/json;charset=utf-8, text/html;q=0.5', 'json', 'parameters other than q do not hide the type'],
  ['text/html;level=1', 'json', 'RFC 9110 §12.5.1: a range with a parameter matches only that parameter, and our HTML has no level'],
  ['text/html;charset=utf-8', 'html', 'a parameter our HTML does carry'],
  // Wildcards.
  ['application/*', 'json', 'any application type'],
  ['text/*', 'html', 'any text type'],
  ['text/*, application/*', 'html', 'equal wildcards: the one listed first'],
  ['application/*, text/*', 'json', 'equal wildcards, JSON first'],
  ['text/*;q=0.5, application/*;q=0.6', 'json', 'wildcards by q'],
  ['text/*, application/json', 'json', 'same q: the exact type beats the wildcard'],
  ['*/*;q=0.8, text/html;q=0.8', 'html', 'same q: text/html beats */*'],
  // q=0 exclusions (RFC 9110 §12.5.1: the most specific range decides, whatever its position).
  ['text/html;q=0, */*', 'json', 'HTML excluded'],
  ['*/*, text/html;q=0', 'json', 'HTML excluded after the wildcard'],
  ['*/*, application/json;q=0', 'html', 'JSON excluded after the wildcard'],
  ['application/json;q=0, */*', 'html', 'JSON excluded; problem+json is not offered through a wildcard'],
  ['text/*;q=0, */*', 'json', 'all text excluded'],
  ['application/*;q=0, text/html;q=0.1', 'html', 'all application types excluded'],
  ['text/html;q=0, application/json;q=0', 'json', 'both excluded: JSON, never a 406'],
  ['text/html;q=0, text/html', 'html', 'equally specific duplicates: the higher q counts'],
  ['application/json;q=0, application/problem+json', 'json', 'JSON excluded but problem+json named'],
  // q-values that are not quite right.
  ['text/html;q=1.5, application/json;q=0.9', 'html', 'q above 1 is clamped to 1'],
  ['text/html;q=-1, application/json;q=0.1', 'json', 'a negative q is clamped to 0 (excluded)'],
  ['text/html;q=abc, application/json;q=0.1', 'json', 'a non-numeric q drops the element'],
  ['text/html;q=, application/json;q=0.9', 'html', 'an empty q says nothing (q=1)'],
  ['text/html;Q=0.2, application/json;q=0.3', 'json', 'the parameter name is case-insensitive'],
  ['text/html ; q = 0.2 , application/json;q=0.3', 'json', 'optional whitespace around ; and ='],
  ['text/html;q=0.2;q=0.9, application/json;q=0.5', 'json', 'the first q counts'],
  ['text/html;foo;q=0.2, application/json;q=0.5', 'json', 'a parameter without a value is skipped'],
  ['text/html;foo="a,b", application/json;q=0.5', 'json', 'text/html with a parameter we do not send does not match; JSON is acceptable'],
  // Malformed media ranges.
  ['TEXT/HTML', 'html', 'case-insensitive type'],
  ['\ttext/html\t', 'html', 'tabs are optional whitespace'],
  ['text/html\r\n', 'json', 'CR LF is not whitespace: element dropped'],
  ['text/html\u0000', 'json', 'a NUL byte'],
  ['téxt/html', 'json', 'a non-token character'],
  ['*/html', 'html', 'not a valid range (RFC 9110), read leniently as text/html by negotiator: still a sound answer'],
  ['text/', 'json', 'no subtype'],
  ['/html', 'json', 'no type'],
  ['text/html/x', 'json', 'two slashes'],
  ['html', 'json', 'no slash'],
  ['', 'json', 'empty'],
  [',,,;;;', 'json', 'separators only'],
  [';q=1', 'json', 'parameters only'],
  ['garbage, text/html', 'html', 'junk before a good element'],
  // Very long headers.
  [`text/html,${'x/y,'.repeat(4000)}`, 'html', '16 KB, text/html first'],
  [`${'x/y;q=0.5,'.repeat(110)}text/html`, 'json', 'past the first 1024 characters nothing is read'],
  [`${'x/y,'.repeat(200)}text/html`, 'html', 'an element that ends within 1024 characters is read'],
  [`text/html;${'a=b;'.repeat(4000)}q=0.5, application/json;q=0.4`, 'json', 'an element longer than the read limit is dropped whole'],
  [`${'a'.repeat(16_000)}/json`, 'json', 'a 16 KB type'],
  ['\ud800/html, text/html', 'html', 'a lone surrogate is just an invalid element']
]

t.test('Accept → family', async (t) => {
  for (const [accept, family, why] of TABLE) t.equal(preferredFamily(accept), family, why)
})

t.test('a 1 MB header is read no further than its first 1024 characters', async (t) => {
  // Node caps all headers at 16 KB by default; inject has no cap. What lies past the first 1024
  // characters never changes the answer, so its cost is bounded whatever the size.
  const head = `${'x/y,'.repeat(250)}application/json`
  t.equal(preferredFamily(`${head},${'x/y,'.repeat(250_000)}text/html;q=1`), 'json', 'the text/html at the end is never reached')
  t.equal(preferredFamily(`${'x/y,'.repeat(250)}text/html,${'a'.repeat(1_000_000)}`), 'html', 'an element cut at the limit is dropped whole, not read in part')
})

t.test('end to end: every header gets a sound response, HTML or JSON as the table says', async (t) => {
  const { app } = await build()
  app.get('/gone', (request, reply) => reply.abort(410))
  await app.register(async (api) => {
    await api.register(flaskErrors, { problemDetails: true })
    api.get('/gone', (request, reply) => reply.abort(410))
  }, { prefix: '/api' })
  for (const [accept, family, why] of TABLE) {
    // Node refuses header values with CR, LF or NUL before they reach the app: skip those here.
    // eslint-disable-next-line no-control-regex -- a header with a control character is the case under test
    if (/[\r\n\0]/.test(accept) || /[^\u0000-\u00ff]/.test(accept)) continue
    for (const [url, json] of [['/gone', /^application\/json/], ['/api/gone', /^application\/problem\+json/]] as const) {
      const res = await app.inject({ url, headers: { accept } })
      t.equal(res.statusCode, 410, `${why}: 410`)
      t.match(res.headers['content-type'], family === 'html' ? /^text\/html/ : json, `${why}: ${family} (${url})`)
      t.equal(res.headers.vary, 'Accept')
    }
  }
})

t.test('end to end: repeated Accept headers and an array value', async (t) => {
  const { app } = await build()
  app.get('/gone', (request, reply) => reply.abort(410))
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as { port: number }
  // Node joins repeated Accept headers with ", " (RFC 9110 §5.3): the client's order still counts.
  const raw = await rawRequest(port, 'GET /gone HTTP/1.1\r\nHost: x\r\nAccept: text/html;q=0.5\r\nAccept: application/json\r\nConnection: close\r\n\r\n')
  t.match(raw, /^HTTP\/1\.1 410 /)
  t.match(raw, /content-type: application\/json/i)
  const injected = await app.inject({ url: '/gone', headers: { accept: ['text/html', 'application/json'] as unknown as string } })
  t.equal(injected.statusCode, 410)
  t.match(injected.headers['content-type'], /^(application\/json|text\/html)/, 'a sound answer either way')
})

async function rawRequest (port: number, text: string): Promise<string> {
  const { connect } = await import('node:net')
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text))
    let data = ''
    socket.on('data', (chunk) => { data += chunk.toString() })
    socket.on('end', () => resolve(data))
    socket.on('error', reject)
  })
}
