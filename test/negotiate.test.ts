/**
 * lib/negotiate.ts as a unit: which Accept values get HTML and which JSON, the per-context policies,
 * and the bounded cache of answers.
 */
import t from 'tap'
import { choose, cachedCount } from '../lib/negotiate.js'
import type { Representation } from '../lib/negotiate.js'

const CHROME = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7'
const FIREFOX = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/png,image/svg+xml,*/*;q=0.8'
const SAFARI = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
/** A fetch()/XHR default and curl: no preference, so JSON (DESIGN §5). */
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

// First in the file, before anything could have put these values in the cache.
t.test('values answered without parsing, and policies, are not cached', async (t) => {
  t.equal(cachedCount(), 0)
  for (const accept of [undefined, '', '*/*']) t.equal(choose(accept, 'negotiate'), 'json')
  t.equal(choose('text/html;level=1', 'json'), 'json')
  t.equal(choose('application/json;level=1', 'html'), 'html')
  t.equal(cachedCount(), 0)
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

t.test('the cache', async (t) => {
  t.test('a new value is cached once, a repeated one is answered from the cache', async (t) => {
    const before = cachedCount()
    t.equal(choose('text/html;q=0.7, application/json;q=0.6', 'negotiate'), 'html')
    t.equal(cachedCount(), before + 1)
    t.equal(choose('text/html;q=0.7, application/json;q=0.6', 'negotiate'), 'html')
    t.equal(cachedCount(), before + 1)
  })

  t.test('repeated and alternating values keep their own answers', async (t) => {
    const page = 'text/html;q=0.9, application/json;q=0.1'
    const api = 'application/json, text/html;q=0.5'
    const answers = [page, page, page, api, api, page, api, page, page].map((accept) => choose(accept, 'negotiate'))
    t.same(answers, ['html', 'html', 'html', 'json', 'json', 'html', 'json', 'html', 'html'])
  })

  t.test('values longer than 256 characters are answered but not cached', async (t) => {
    const at = `text/html,${'a'.repeat(246)}`
    const over = `text/html,${'a'.repeat(247)}`
    t.equal(at.length, 256)
    const before = cachedCount()
    t.equal(choose(over, 'negotiate'), 'html')
    t.equal(cachedCount(), before, '257 characters: not cached')
    t.equal(choose(`${'x/y,'.repeat(2048)}`, 'negotiate'), 'json')
    t.equal(cachedCount(), before, '8 KB: not cached')
    t.equal(choose(at, 'negotiate'), 'html')
    t.equal(cachedCount(), before + 1, '256 characters: cached')
  })

  t.test('a flood of distinct values never grows the cache past 256', async (t) => {
    let max = 0
    let wrong = 0
    for (let i = 0; i < 1000; i++) {
      const html = i % 2 === 0
      const accept = html ? `text/html, x-flood/${i}` : `application/json, x-flood/${i}`
      if (choose(accept, 'negotiate') !== (html ? 'html' : 'json')) wrong++
      max = Math.max(max, cachedCount())
    }
    t.equal(max, 256, 'fills up to the limit and no further')
    t.equal(wrong, 0, 'answers stay right across clears')
    t.ok(cachedCount() <= 256)
    t.equal(choose(CHROME, 'negotiate'), 'html', 'a value evicted by a clear is parsed again')
  })
})
