"""Production batches (生产批次), their 承诺达标合格证, trace codes, labels and the public trace page."""
