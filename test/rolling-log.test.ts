// Rotating log files, as examples/reporting.ts sets them up: pino with the
// pino-roll transport (the Fastify counterpart of the RotatingFileHandler the
// Flask tutorial adds next to its SMTPHandler).
import t from 'tap'
import pino from 'pino'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'

/** Ends a transport and waits until its worker has written everything and exited. */
async function closeTransport (transport: ReturnType<typeof pino.transport>): Promise<void> {
  // The worker thread is unref'd: without a timer the process could exit
  // before 'close' and lose the last lines.
  const keepAlive = setInterval(() => {}, 1000)
  try {
    await new Promise<void>((resolve, reject) => {
      transport.once('close', () => resolve())
      transport.once('error', reject)
      transport.end()
    })
  } finally {
    clearInterval(keepAlive)
  }
}

t.test('pino-roll writes, rotates by size and keeps a bounded number of files', async (t) => {
  const dir = t.testdir({})
  const folder = join(dir, 'logs')
  const transport = pino.transport({
    target: 'pino-roll',
    options: { file: join(folder, 'app.log'), size: '1k', limit: { count: 2 }, mkdir: true }
  })
  // The transport runs in a worker thread; lines written before it is ready
  // wait in a buffer and reach the file in one write (one rotation at most).
  await once(transport, 'ready')
  const log = pino(transport)
  const total = 320
  for (let i = 0; i < total; i++) {
    // ≈190 bytes a line: a burst of 8 is ≈1.5 kB, over the 1 kB limit.
    log.info({ i, padding: 'x'.repeat(60) }, 'a line long enough to fill 1 kB in a few writes')
    // Pauses between bursts, as a real server's traffic has: pino-roll
    // checks the size after each write the worker makes.
    if (i % 8 === 7) await sleep(20)
  }
  await closeTransport(transport)

  const files = readdirSync(folder).filter((name) => /^app\.\d+\.log$/.test(name))
  const numbers = files.map((name) => Number(/^app\.(\d+)\.log$/.exec(name)?.[1])).sort((a, b) => a - b)
  t.ok(files.length >= 2, `rotated: ${files.join(', ')}`)
  t.ok(files.length <= 3, 'at most limit.count rotated files plus the active one')
  t.ok(numbers[numbers.length - 1] > 3, `older files were removed (highest number ${numbers[numbers.length - 1]})`)
  t.same(numbers, numbers.map((_n, index) => numbers[0] + index), 'the newest files are the ones kept')

  const indexes: number[] = []
  for (const number of numbers) {
    const path = join(folder, `app.${number}.log`)
    const content = readFileSync(path, 'utf8')
    // The active file may be empty (just rolled); any other ends with a whole line.
    t.ok(content === '' || content.endsWith('\n'), `app.${number}.log ends with a whole line`)
    for (const line of content.split('\n').filter((l) => l !== '')) {
      const parsed = JSON.parse(line) as { level: number, i: number, msg: string }
      t.equal(parsed.level, 30)
      indexes.push(parsed.i)
    }
    if (number !== numbers[numbers.length - 1]) {
      t.ok(statSync(path).size >= 1024, `rotated file ${number} reached the 1 kB limit before rotating`)
    }
  }
  t.ok(indexes.length < total, 'lines in removed files are gone')
  t.equal(indexes[indexes.length - 1], total - 1, 'the last line written is in the active file')
  t.same(indexes, indexes.map((_n, k) => indexes[0] + k), 'the kept lines are consecutive: none lost or torn at a rotation')
})
