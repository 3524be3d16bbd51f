import { PALETTE } from './identity'

/**
 * The caret colour to show for me, so that no two people in a document share one.
 *
 * I show the colour I chose unless someone with a lower Yjs client id shows it already: client
 * ids are an order every page sees alike, so two pages agree on who gives way without asking each
 * other. Whatever I show, I keep while nobody with a lower id shows it, so that colours do not
 * change under people's eyes as others come and go. Giving way, I take the first colour of the
 * palette that nobody shows, starting at a place of my own so that two people giving way at once
 * rarely land on the same one (and if they do, the higher id moves again). With more people than
 * colours, the ones with lower ids still get theirs.
 */
export function distinctColor(
  me: number,
  preferred: string,
  current: string,
  others: ReadonlyMap<number, string>,
  palette: readonly string[] = PALETTE,
): string {
  const takenBefore = new Set<string>()
  const shown = new Set<string>()
  for (const [client, color] of others) {
    shown.add(color)
    if (client < me) takenBefore.add(color)
  }
  if (!takenBefore.has(current)) return current
  if (!takenBefore.has(preferred)) return preferred
  const start = me % palette.length
  const inOrder = palette.map((_, i) => palette[(start + i) % palette.length])
  return inOrder.find((color) => !shown.has(color)) ?? inOrder.find((color) => !takenBefore.has(color)) ?? preferred
}
