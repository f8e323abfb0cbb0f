package main

this is not go
