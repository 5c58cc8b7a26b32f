/**
 * CPU time from Linux's /proc, for the bench runners (bench/run.ts, bench/same-core.ts): what a
 * server used during a measurement, and what the whole machine did meanwhile.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Clock ticks per second, the unit of /proc's CPU times. */
const clockTicks = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
  } catch {
    // No getconf: 100 is what Linux reports on every architecture Node runs on (USER_HZ).
    return 100
  }
})()

/** CPU seconds all processes have used so far (busy time plus steal), from /proc/stat. */
export function machineCpuSeconds (): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
  return (user + nice + system + irq + softirq + steal) / clockTicks
}

/** CPU seconds one core has been busy so far (busy time plus steal), from its line of /proc/stat. */
export function coreBusySeconds (core: number): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${core} `))
  if (line === undefined) throw new Error(`/proc/stat has no line for CPU ${core}`)
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
  return (user + nice + system + irq + softirq + steal) / clockTicks
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / clockTicks
}
