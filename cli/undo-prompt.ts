import { createInterface } from 'node:readline/promises';

/** Asks on the terminal (stderr, so stdout stays the command's output) and returns the answer. */
export async function askOnTerminal(question: string): Promise<string> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await prompt.question(question);
  } finally {
    prompt.close();
  }
}

/** Only an explicit yes confirms. */
export const isYes = (answer: string): boolean => /^(y|yes)$/i.test(answer.trim());
