import { flagQualityDrops, weightedQuality, type EncodeQuality, type QualityWarning } from "../../shared/media/encoder-quality.ts";
import type { ActiveJob } from "../../shared/pipeline/job-guard.ts";
import type { PartRecord } from "../../shared/pipeline/part-record.ts";
import { partNames } from "../../shared/keys.ts";

/** One rendition's quality in manifest.json: the frame-weighted means, and each chunk's own (none for the lead rung, encoded whole). */
export interface RenditionQuality extends EncodeQuality {
  chunks: Array<EncodeQuality & { chunk: number }>;
}

export interface QualitySummary {
  /** Per rendition name; a rendition with an unmeasured chunk is absent (no partial mean). */
  renditions: Record<string, RenditionQuality>;
  warnings: QualityWarning[];
}

/** Every rendition's quality from the chunk markers, and the chunks flagged as well below their neighbours. */
export function summarizeQuality(job: ActiveJob, parts: ReadonlyMap<string, PartRecord>): QualitySummary {
  const renditions: Record<string, RenditionQuality> = {};
  const warnings: QualityWarning[] = [];
  for (const rendition of job.plan.renditions) {
    if (rendition.name === job.plan.leadRung) {
      // One encode of the whole video: its mean is exact, and there are no chunks to compare.
      const whole = parts.get(partNames.rung(rendition.name))?.quality?.[rendition.name];
      if (whole) renditions[rendition.name] = { ...whole, chunks: [] };
      continue;
    }
    const chunks = job.plan.chunks.chunks.map((chunk) => ({ index: chunk.index, quality: parts.get(partNames.chunk(chunk.index))?.quality?.[rendition.name] }));
    if (chunks.some((c) => !c.quality)) continue;
    const measured = chunks as Array<{ index: number; quality: EncodeQuality }>;
    const mean = weightedQuality(measured.map((c) => c.quality));
    if (!mean) continue;
    renditions[rendition.name] = { ...mean, chunks: measured.map((c) => ({ chunk: c.index, ...c.quality })) };
    warnings.push(...flagQualityDrops(rendition.name, measured));
  }
  return { renditions, warnings };
}
