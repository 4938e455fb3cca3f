"""The GNN reward predictor: its model, datasets and training.

Commands: placer-dataset and placer-pretrain (placer.cli).
"""
