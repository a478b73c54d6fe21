"""mindspore_rl_ext.data"""
