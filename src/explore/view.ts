// What a link to the explorer's page holds (its URL fragment): the trace,
// the settings and the position. One definition for the page
// (explore/fragment.ts, which encodes it in the browser) and for
// `vmtree explore` (src/cli/explore.ts, which writes the same encoding with
// Node's zlib).

export interface ViewState {
  /** The trace's file name, for error messages. */
  name: string;
  trace: string;
  /**
   * The trace's bytes are its characters' codes (`vmtree explore` of a file
   * that is not UTF-8); otherwise its UTF-8 encoding, as an editor saves it.
   */
  latin1: boolean;
  design: string;
  /** A second design stepping alongside ('' for none). */
  compare: string;
  frames: number | null;
  cut: boolean;
  merge: boolean;
  zeroPage: boolean;
  /** Commands run. */
  pos: number;
}
