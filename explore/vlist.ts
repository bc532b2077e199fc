// A list that keeps only the rows in view in the DOM: fixed row height, a
// spacer as tall as all the rows, and the visible slice (plus a margin)
// absolutely placed in it. A million rows cost a million strings, not a
// million elements.

export class VirtualList {
  private rows: string[] = [];
  private readonly spacer: HTMLDivElement;
  private readonly window: HTMLDivElement;
  private drawn = '';

  constructor(readonly box: HTMLElement, readonly rowHeight: number) {
    box.classList.add('vlist');
    this.spacer = document.createElement('div');
    this.spacer.className = 'vspacer';
    this.window = document.createElement('div');
    this.window.className = 'vwindow';
    this.spacer.appendChild(this.window);
    box.appendChild(this.spacer);
    box.addEventListener('scroll', () => this.paint());
    new ResizeObserver(() => this.paint()).observe(box);
  }

  /** Rows as HTML (each one line, escaped by the caller). */
  set(rows: string[]): void {
    this.rows = rows;
    this.spacer.style.height = `${rows.length * this.rowHeight}px`;
    this.drawn = '';
    this.paint();
  }

  get length(): number {
    return this.rows.length;
  }

  /** Scroll so that row i is in view. */
  reveal(i: number): void {
    const top = i * this.rowHeight;
    const h = this.box.clientHeight;
    if (top < this.box.scrollTop || top + this.rowHeight > this.box.scrollTop + h) {
      this.box.scrollTop = Math.max(0, top - h / 2);
    }
    this.paint();
  }

  private paint(): void {
    const h = this.box.clientHeight || 400;
    const first = Math.max(0, Math.floor(this.box.scrollTop / this.rowHeight) - 10);
    const last = Math.min(this.rows.length, Math.ceil((this.box.scrollTop + h) / this.rowHeight) + 10);
    const key = `${first}:${last}`;
    if (key === this.drawn) return;
    this.drawn = key;
    this.window.style.transform = `translateY(${first * this.rowHeight}px)`;
    let html = '';
    for (let i = first; i < last; i++) html += `<div class="vrow" data-i="${i}">${this.rows[i]}</div>`;
    this.window.innerHTML = html;
  }
}

export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
