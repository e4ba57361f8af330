// Reads a V8 .cpuprofile (written by `node --cpu-prof`) and ranks functions by SELF time, the quickest way
// to name what limits throughput without a flame-graph viewer.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FrameShare {
  frame: string;
  selfPct: number;
}

export function topSelfFrames(profile: CpuProfile, limit = 15): FrameShare[] {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((nodeId, i) => {
    const node = byNode.get(nodeId);
    const us = profile.timeDeltas[i] ?? 0;
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '~/');
    const frame = `${functionName || '(anonymous)'} ${file.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    selfUs.set(frame, (selfUs.get(frame) ?? 0) + us);
    total += us;
  });
  return [...selfUs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([frame, us]) => ({ frame, selfPct: Math.round((us / Math.max(1, total)) * 1000) / 10 }));
}

export function topSelfFramesOf(path: string, limit = 15): FrameShare[] {
  return topSelfFrames(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile, limit);
}
