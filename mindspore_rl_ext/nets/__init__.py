"""mindspore_rl_ext.nets"""
