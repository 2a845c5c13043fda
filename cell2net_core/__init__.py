"""Cell2Net Explorer core: read cell2net datasets and checkpoints, attribute TFs, build networks."""
