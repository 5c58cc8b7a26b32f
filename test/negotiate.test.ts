/**
 * lib/negotiate.ts as a unit: which Accept values get HTML and which JSON, the per-context policies,
 * the bounded offer of JSON dialects, and the bounded cache of answers.
 */
import t from 'tap'
import fc from 'fast-check'
import Negotiator from 'negotiator'
import { Negotiation } from '../lib/negotiate.js'
import type { Representation } from '../lib/negotiate.js'

const CHROME = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7'
const FIREFOX = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/png,image/svg+xml,*/*;q=0.8'
const SAFARI = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
/** A fetch()/XHR default and curl: no preference, so JSON (what Fastify's own errors answer them with). */
const FETCH = '*/*'

const TABLE: ReadonlyArray<readonly [string | undefined, Representation, string]> = [
  [CHROME, 'html', 'Chrome navigation'],
  [FIREFOX, 'html', 'Firefox navigation'],
  [SAFARI, 'html', 'Safari navigation'],
  [FETCH, 'json', '*/* (fetch, curl)'],
  [undefined, 'json', 'no Accept header'],
  ['', 'json', 'an empty Accept header'],
  ['application/json', 'json', 'an API client'],
  ['text/html', 'html', 'HTML only'],
  ['TEXT/HTML', 'html', 'media types are case-insensitive'],
  ['text/*', 'html', 'any text'],
  ['application/*', 'json', 'any application type'],
  ['text/html, application/json', 'html', 'a q-value tie goes to the client\'s first choice'],
  ['application/json, text/html', 'json', 'a q-value tie, JSON first'],
  ['text/html;q=0.5, application/json;q=0.5', 'html', 'an explicit tie'],
  ['text/html;q=0.5, application/json;q=0.9', 'json', 'JSON preferred by q'],
  ['application/json;q=0.5, text/html;q=0.9', 'html', 'HTML preferred by q, listed second'],
  ['text/*, application/json', 'json', 'an exact type beats a wildcard at the same q'],
  ['*/*;q=0.1, text/html;q=0.2', 'html', 'HTML above the wildcard'],
  ['*/*, text/html', 'html', 'an explicit text/html beats */*'],
  ['text/html;q=0, */*', 'json', 'q=0 excludes HTML'],
  ['application/json;q=0, */*', 'html', 'q=0 excludes JSON, so HTML'],
  ['application/json;q=0, text/html;q=0', 'json', 'both excluded: JSON, never a 406'],
  ['application/vnd.api+json', 'json', 'a vendor type we do not offer'],
  ['application/problem+json', 'json', 'RFC 9457 problem details'],
  ['image/*', 'json', 'nothing we offer'],
  ['text/plain', 'json', 'plain text is not offered'],
  ['application/xhtml+xml', 'json', 'XHTML alone is not text/html'],
  ['garbage', 'json', 'malformed: no slash'],
  [';;;,,,', 'json', 'malformed: separators only'],
  ['text/html;q=abc', 'json', 'malformed q-value'],
  ['text/html;q=', 'html', 'an empty q-value is ignored (q=1)'],
  ['text/html\u0000', 'json', 'a NUL byte'],
  ['\u0001text/html', 'json', 'a leading control character'],
  ['text/html\r\n', 'json', 'CR LF'],
  [`text/html,${'x/y,'.repeat(2048)}`, 'html', '8 KB of entries with text/html first'],
  [`${'x/y;q=0.5,'.repeat(820)}application/json`, 'json', '8 KB of entries with JSON last'],
  ['a,'.repeat(4096), 'json', '8 KB of junk']
]

/** One app's decisions: every test here shares them, as one app's requests do. */
const negotiation = new Negotiation()
const choose = (accept: string | undefined, policy: 'negotiate' | Representation): Representation => negotiation.choose(accept, policy)

t.test('values answered without parsing, and policies', async (t) => {
  for (const accept of [undefined, '', '*/*']) t.equal(choose(accept, 'negotiate'), 'json')
  t.equal(choose('text/html;level=1', 'json'), 'json')
  t.equal(choose('application/json;level=1', 'html'), 'html')
})

t.test('Accept values → json or html', async (t) => {
  for (const [accept, expected, label] of TABLE) {
    t.equal(choose(accept, 'negotiate'), expected, label)
    t.equal(choose(accept, 'negotiate'), expected, `${label} (again, from the cache where cached)`)
  }
})

t.test('the json and html policies override negotiation', async (t) => {
  for (const [accept] of TABLE) {
    t.equal(choose(accept, 'json'), 'json')
    t.equal(choose(accept, 'html'), 'html')
  }
})

t.test('the cache gives every value its own answer (what it keeps in memory: test/pages.test.ts)', async (t) => {
  t.test('a new value, then the same value again', async (t) => {
    t.equal(choose('text/html;q=0.7, application/json;q=0.6', 'negotiate'), 'html')
    t.equal(choose('text/html;q=0.7, application/json;q=0.6', 'negotiate'), 'html')
  })

  t.test('repeated and alternating values keep their own answers', async (t) => {
    const page = 'text/html;q=0.9, application/json;q=0.1'
    const api = 'application/json, text/html;q=0.5'
    const answers = [page, page, page, api, api, page, api, page, page].map((accept) => choose(accept, 'negotiate'))
    t.same(answers, ['html', 'html', 'html', 'json', 'json', 'html', 'json', 'html', 'html'])
  })

  t.test('values longer than 256 characters (never cached) are answered like others', async (t) => {
    const at = `text/html,${'a'.repeat(246)}`
    const over = `text/html,${'a'.repeat(247)}`
    t.equal(at.length, 256)
    for (let round = 0; round < 2; round++) {
      t.equal(choose(over, 'negotiate'), 'html', '257 characters')
      t.equal(choose(`${'x/y,'.repeat(2048)}`, 'negotiate'), 'json', '8 KB')
      t.equal(choose(at, 'negotiate'), 'html', '256 characters')
    }
  })

  t.test('a flood of distinct values, across the clears of the bounded cache', async (t) => {
    let wrong = 0
    for (let i = 0; i < 1000; i++) {
      const html = i % 2 === 0
      const accept = html ? `text/html, x-flood/${i}` : `application/json, x-flood/${i}`
      if (choose(accept, 'negotiate') !== (html ? 'html' : 'json')) wrong++
    }
    t.equal(wrong, 0, 'answers stay right across clears')
    t.equal(choose(CHROME, 'negotiate'), 'html', 'a value evicted by a clear is parsed again')
  })
})

t.test('JSON dialects: every +json type the client names counts, at most 4 distinct ones, its most preferred', async (t) => {
  t.test('a dialect is recognised whatever its case (media types are case-insensitive)', async (t) => {
    t.equal(choose('Application/Problem+JSON, text/html;q=0.9', 'negotiate'), 'json')
    t.equal(choose('APPLICATION/VND.API+JSON;q=0.9, text/html;q=0.5', 'negotiate'), 'json')
  })

  // Versioned dialects (`;v=1`) are never matched by the bare types offered, so they show which
  // dialects were offered: the ones ranked above fill the offer, and a fifth is left out.
  const versioned = (count: number): string => Array.from({ length: count }, (_, i) => `application/vnd.v${i}+json;v=1`).join(', ')
  t.test('a fifth dialect is not offered when four are ranked above it', async (t) => {
    t.equal(choose(`${versioned(3)}, application/vnd.api+json;q=0.9, text/html;q=0.5`, 'negotiate'), 'json',
      'three ranked above: the fourth is offered, and JSON wins over HTML')
    t.equal(choose(`${versioned(4)}, application/vnd.api+json;q=0.9, text/html;q=0.5`, 'negotiate'), 'html',
      'four ranked above: it is not offered, so HTML is the best match')
  })

  t.test('a dialect named many times takes one place', async (t) => {
    const repeated = Array.from({ length: 20 }, () => 'application/vnd.v0+json;v=1').join(', ')
    t.equal(choose(`${repeated}, application/vnd.api+json;q=0.9, text/html;q=0.5`, 'negotiate'), 'json')
  })

  t.test('the most preferred dialect is offered wherever it stands in the header', async (t) => {
    // Within the 1024 characters that are read.
    const many = Array.from({ length: 30 }, (_, i) => `application/d${i}+json;q=0.1`).join(',')
    t.equal(choose(`${many},application/hal+json;q=0.9,text/html;q=0.5`, 'negotiate'), 'json', 'after thirty less preferred ones')
    t.equal(choose(`${many},application/hal+json;q=0.4,text/html;q=0.5`, 'negotiate'), 'html', 'and HTML still wins when preferred to it')
  })

  t.test('property: for dialects named without parameters, the answer is the one offering every dialect gives', async (t) => {
    const JSON_TYPE = 'application/json; charset=utf-8'
    const HTML_TYPE = 'text/html; charset=utf-8'
    /** The model: negotiator offered our two types and every distinct dialect the header names. */
    const model = (accept: string): Representation => {
      const negotiator = new Negotiator({ headers: { accept } })
      const all = [...new Set(negotiator.mediaTypes().map((type) => type.toLowerCase()).filter((type) => type.endsWith('+json')))]
      return negotiator.mediaType([JSON_TYPE, HTML_TYPE, ...all]) === HTML_TYPE ? 'html' : 'json'
    }
    const range = fc.oneof(
      fc.constantFrom('text/html', 'application/json', 'text/*', 'application/*', '*/*', 'image/webp', 'application/xml', 'TEXT/HTML', 'text/html;level=1'),
      fc.integer({ min: 0, max: 40 }).map((i) => `application/vnd.d${i}+json`),
      fc.constantFrom('application/problem+json', 'Application/Problem+JSON', 'application/hal+json', 'application/ld+json')
    )
    const q = fc.option(fc.constantFrom('0', '0.1', '0.3', '0.5', '0.5', '0.9', '1'), { nil: undefined })
    const element = fc.tuple(range, q).map(([type, quality]) => quality === undefined ? type : `${type};q=${quality}`)
    const header = fc.array(element, { minLength: 1, maxLength: 40 }).map((elements) => elements.join(', '))
    let dialectHeavy = 0
    fc.assert(fc.property(header, (accept) => {
      if ((accept.match(/\+json/gi) ?? []).length > 4) dialectHeavy++
      return choose(accept, 'negotiate') === model(accept)
    }), { numRuns: 500, seed: process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED) })
    t.ok(dialectHeavy > 50, `the runs include headers with more than 4 dialects (${dialectHeavy})`)
    t.pass('500 headers: the same answer as offering every dialect')
  })
})
