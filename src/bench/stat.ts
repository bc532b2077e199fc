// A figure's runs, summarised: the median and the spread (min–max).

export interface Stat { median: number; min: number; max: number; runs: number[] }

export function stat(xs: number[]): Stat {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  return { median, min: s[0]!, max: s[n - 1]!, runs: xs };
}
