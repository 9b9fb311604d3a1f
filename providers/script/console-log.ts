/** Longest single console message kept, in characters. */
const MAX_MESSAGE_CHARS = 2000;

/**
 * A script's console output, capped: lines are kept until `maxChars` is reached, then only counted,
 * so a script that logs in a loop costs no more memory than the cap. Lines read `[level] message`.
 */
export class ConsoleLog {
  private readonly lines: string[] = [];
  private chars = 0;
  private dropped = 0;

  constructor(private readonly maxChars: number) {}

  add(level: string, message: string): void {
    if (this.dropped > 0 || this.chars >= this.maxChars) {
      this.dropped++;
      return;
    }
    const short = message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…` : message;
    const line = `[${level}] ${short}`.slice(0, this.maxChars - this.chars);
    this.lines.push(line);
    this.chars += line.length + 1;
  }

  /** A line of the host's own, e.g. a fetch the script made. */
  note(text: string): void {
    this.add('hub', text);
  }

  text(): string {
    const kept = this.lines.join('\n');
    return this.dropped > 0 ? `${kept}\n[hub] ${this.dropped} more console message(s) dropped: the log is capped at ${this.maxChars} characters` : kept;
  }
}
