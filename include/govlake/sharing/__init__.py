"""Classification, sharing zone (grants, row/column security), data dispatch and its audit trail."""
