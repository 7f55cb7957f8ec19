/** The obs column / text column holding each cell's type in a reference. */
export const LABEL_COLUMN = 'cell_label';
