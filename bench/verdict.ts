/**
 * The verdict of one target row of `npm run bench`, from its two measurements of the same run:
 *
 * - the alternating table (bench/run.ts): each server alone on its core, scenarios taking turns
 *   over rounds. The targets were set on this measure, but on a shared machine each round also
 *   measures whatever the neighbours did in those seconds;
 * - the same-core A/B (bench/same-core.ts): the servers of a group side by side on one core, so
 *   the ratio is the inverse ratio of their CPU cost per request and the neighbours slow every
 *   side alike. It repeats far more tightly than the alternating rounds.
 *
 * Far from the line, the alternating ratio decides: its noise cannot carry it across. Near the line
 * (see `nearBand`), its noise can, and the A/B decides. A ratio whose medians kept disturbed rounds
 * has no band to trust (the disturbance is not noise around the cost but a slowdown of one side):
 * it counts as near wherever it lies. Without an A/B (`--ab-rounds 0`, or no
 * second core to pin the load generator to), a row near the line stays undecided.
 */

/** One measure of a ratio: its median and the ratio of each round. */
export interface Measured {
  readonly ratio: number
  readonly rounds: readonly number[]
}

/** The alternating measure of a ratio, and whether its medians had to keep rounds other processes disturbed. */
export interface Alternating extends Measured {
  readonly disturbed: boolean
}

/** Who gave the verdict. */
export type DecidedBy = 'alternating' | 'same-core A/B' | 'none'

/** The verdict of a row with a line. `holds` is undefined when neither measure may decide. */
export interface Verdict {
  readonly holds: boolean | undefined
  readonly near: boolean
  readonly by: DecidedBy
  /** Why the verdict needs care, or '' when it does not. */
  readonly caveat: string
}

/**
 * The least half-width of the alternating ratio's noise band, as a share of the ratio. A median of
 * a few rounds that alternated with other processes moves by about this much between runs on a
 * shared VM (bench/README.md has the logged runs), even when its own rounds happened to agree.
 */
export const NEAR_SHARE = 0.05

/**
 * How close to the line an A/B median is within its own repeatability (a scenario measured against
 * a copy of itself this way gives medians this far from 1): a verdict that close is worth a re-run.
 */
export const AB_REPEATABILITY = 0.03

/**
 * The alternating ratio's noise band: the range its own rounds spanned in this run, widened to at
 * least ±`NEAR_SHARE` around the median. The line is "near" when it lies inside.
 */
export function nearBand (alternating: Measured): readonly [number, number] {
  const low = Math.min(alternating.ratio * (1 - NEAR_SHARE), ...alternating.rounds)
  const high = Math.max(alternating.ratio * (1 + NEAR_SHARE), ...alternating.rounds)
  return [low, high]
}

/** The verdict of a row whose ratio must be at least `min`; either measure may be missing. */
export function decide (min: number, alternating: Alternating | undefined, ab: Measured | undefined): Verdict {
  const abCaveat = ab !== undefined && Math.abs(ab.ratio / min - 1) <= AB_REPEATABILITY
    ? `the A/B median is within its ±${AB_REPEATABILITY * 100} % repeatability of the line: re-run to confirm`
    : ''
  if (alternating === undefined) {
    if (ab === undefined) return { holds: undefined, near: false, by: 'none', caveat: 'not measured' }
    return { holds: ab.ratio >= min, near: false, by: 'same-core A/B', caveat: abCaveat === '' ? 'no alternating measure' : abCaveat }
  }
  const [low, high] = nearBand(alternating)
  const near = alternating.disturbed || (low <= min && min <= high)
  if (near) {
    const why = alternating.disturbed ? 'alternating medians kept disturbed rounds' : 'near the line'
    if (ab === undefined) return { holds: undefined, near, by: 'none', caveat: `${why} and no same-core A/B to decide` }
    return { holds: ab.ratio >= min, near, by: 'same-core A/B', caveat: [alternating.disturbed ? why : '', abCaveat].filter((c) => c !== '').join('; ') }
  }
  const holds = alternating.ratio >= min
  const disagree = ab !== undefined && (ab.ratio >= min) !== holds
  return {
    holds,
    near,
    by: 'alternating',
    caveat: disagree ? 'the same-core A/B says otherwise: the machine was busy; re-run when it is idle' : ''
  }
}

/** The verdict as the tables print it. */
export function verdictMark (verdict: Verdict): string {
  if (verdict.holds === undefined) return '? undecided'
  return verdict.holds ? '✓ holds' : '✗ misses'
}
