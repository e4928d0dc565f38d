/**
 * English stopwords plus chat filler: words that carry no topic on their own. Used by keyword
 * ranking, the information score and the session summariser.
 */
const WORDS = `
a about above after again against all almost also although always am among an and another any anybody
anyone anything anyway anyways are aren around as at away back be because been before being below
between both but by can cannot could couldn did didn do does doesn doing don done down during each
either else enough even ever every everybody everyone everything few for from further get gets getting
got gotten had hadn has hasn have haven having he her here hers herself him himself his how however i
if in into is isn it its itself just let lets like likely ll made make makes many may maybe me might
mine more most much must my myself near need needs neither never no nobody none nor not nothing now of
off often oh ok okay on once one only onto or other others otherwise our ours ourselves out over own
per perhaps please quite rather re really s said same say says see seem seems several shall she should
shouldn since so some somebody someone something sometimes somewhat soon still such sure t than that
thats the their theirs them themselves then there these they thing things this those though through
thus to too toward towards under until up upon us use used very via was wasn way we well were weren
what whatever when whenever where whether which while who whoever whom whose why will with within
without won would wouldn yet you your yours yourself yourselves ve d m im ive id youre its dont
yeah yep yes yup nah nope hey hi hello hiya yo lol lmao rofl haha hahaha hehe hmm hm um uh wow omg
thanks thank thx ty cool nice great awesome totally definitely actually basically literally honestly
gonna wanna gotta kinda sorta lot lots stuff bit kind sort guess think know mean feel feels felt
going go goes went come comes came take took want wanted wants tell told thing day days time times
good bad new old big little today yesterday tomorrow tonight
cant wont itll mustve theyre theyve youve youll youd shes hes thats whats theres lets didnt doesnt isnt
wasnt arent werent havent hasnt couldnt wouldnt shouldnt ill woah whoa yay ugh aww ooh
`;

/** The stopword set (lower case, apostrophes removed). */
export const STOPWORDS: ReadonlySet<string> = new Set(WORDS.split(/\s+/).filter((w) => w.length > 0));

/** True when a lower-case token is a stopword. */
export function isStopword(token: string): boolean {
  return STOPWORDS.has(token.replace(/'/g, ''));
}
