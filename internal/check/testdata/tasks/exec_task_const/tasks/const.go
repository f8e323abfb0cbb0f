package main

const exec_task = "nope"

type helper int
