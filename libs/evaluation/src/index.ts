export { readLabelTable, parseLabelTable, type LabelTable, type LabelTableKind } from './label-table';
export { evaluate, type EvaluateOptions } from './evaluate';
export { separationAuc } from './separation-auc';
export type { LabelSource } from './match-cells';
export type { ConfusionMatrix, EvaluationReport, NovelTypeSummary, TypeMetrics } from './evaluation-report';
export { formatReportTable } from './format-report-table';
export { confusionFigureSpec, type ConfusionFigureOptions } from './confusion-figure-spec';
export { renderConfusionSvg, renderConfusionPng } from './render-confusion';
export { writeEvaluationOutputs, reportJson, type EvaluationOutputs } from './write-evaluation-outputs';
